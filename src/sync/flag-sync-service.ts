/**
 * flagd's gRPC sync protocol served by Switchyard (SPEC §11, "flagd as the data plane"):
 * `flagd.sync.v1.FlagSyncService` from flagd's published protobuf (vendored under ./proto, loaded at
 * run time by @grpc/proto-loader; docs/adr/0010-flagd-grpc-sync.md says why this toolchain).
 *
 * - `SyncFlags` is a server stream: the service's flagd definition at once, then one message on
 *   every new flags version of that service, each the whole definition (flagd replaces the
 *   source's flags with each message). `FetchAllFlags` answers the definition once.
 * - The payload is exactly what `GET /v1/services/{service}/flagd.json` serves (the same
 *   exporter over the same document).
 * - The caller is who the `authorization` metadata says (`Bearer <token>`): the same token rules as
 *   the HTTP route, a `service` token of that service or any human role. The service is the
 *   `selector` (request field, or the `flagd-selector` header newer flagd clients send), written
 *   `web` or `flagSetId=web`.
 * - Refusals are gRPC statuses with the Switchyard message and its stable code in the trailing
 *   metadata `switchyard-code`: UNAUTHENTICATED (no, bad or revoked token), PERMISSION_DENIED
 *   (a service token of another service), INVALID_ARGUMENT (no or malformed selector), NOT_FOUND
 *   (a service outside the catalog), RESOURCE_EXHAUSTED / UNAVAILABLE (the stream caps),
 *   UNAVAILABLE (shutting down). The checks run in that order, so a caller without access to a
 *   service never learns whether it exists.
 * - Every `SyncFlags` stream holds a stream lease (src/http/stream-leases.ts), like an SSE stream:
 *   it counts against the same caps, and ends with UNAUTHENTICATED as soon as its token's
 *   revocation commits.
 *
 * Knows nothing of HTTP or express; main.ts binds the server it builds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Actor } from '../access/actor.js';
import { SwitchyardError, ValidationError } from '../errors.js';
import { FlagdExporter } from '../flags/flagd-export.js';
import type { Logger } from '../logger.js';
import type { ServiceDocument, ServiceDocuments } from './service-documents.js';

/** The vendored proto, beside this module in the source tree (dist/ reaches back to src/). */
export function syncProtoPath(moduleDir = path.dirname(fileURLToPath(import.meta.url))): string {
  const rel = path.join('proto', 'flagd', 'sync', 'v1', 'sync.proto');
  const candidates = [path.join(moduleDir, rel), path.resolve(moduleDir, '../../../src/sync', rel)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`flagd sync proto not found in ${candidates.join(' or ')}`);
  return found;
}

interface SyncRequest {
  provider_id?: string;
  selector?: string;
}

/** What the stream caps ask of a stream: a place under its token (StreamLeases fits). */
export interface StreamSlots {
  /**
   * Takes a place for one stream of `tokenId` or throws `too_many_streams` / `server_busy`; `end`
   * is called if the token is revoked meanwhile. Returns the release.
   */
  acquire(headers: { setHeader(name: string, value: string): unknown }, tokenId: string, end: () => void): () => void;
}

export interface FlagSyncDeps {
  /** Resolves an `Authorization` header value to its actor (after the read barrier, ADR 0012), or rejects with `unauthorized`. */
  authenticate(header: string | undefined): Promise<Actor>;
  /** Throws `forbidden_service` when `actor` may not read `service`. */
  authorize(actor: Actor, service: string): void;
  documents: ServiceDocuments;
  slots: StreamSlots;
  logger: Logger;
  /** Told the number of open SyncFlags streams whenever it changes (for a gauge). */
  onCountChange?: (count: number) => void;
  /**
   * A stream with more than this many bytes queued (a flagd that stopped reading) is ended with
   * UNAVAILABLE rather than buffered without bound; flagd reconnects and gets the current state.
   */
  maxQueuedBytes?: number;
}

const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** Names a service: any text without control characters, as the identifier rules allow. */
const SERVICE_NAME = /^[^\u0000-\u001f\u007f-\u009f]{1,200}$/u;

/** The gRPC status of each HTTP status a Switchyard error carries. */
export function grpcStatusOf(status: number): grpc.status {
  switch (status) {
    case 400:
      return grpc.status.INVALID_ARGUMENT;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 503:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.INTERNAL;
  }
}

/**
 * The service a selector names: `web` or `flagSetId=web` (flagd's own selector forms). The
 * request's field wins; newer flagd clients send the `flagd-selector` header instead.
 */
export function selectedService(field: string | undefined, header: string | undefined): string {
  const raw = field !== undefined && field !== '' ? field : (header ?? '');
  const eq = raw.indexOf('=');
  let service = raw;
  if (eq !== -1) {
    if (raw.slice(0, eq) !== 'flagSetId') {
      throw new ValidationError([{ path: 'selector', message: 'must be a service, written "web" or "flagSetId=web"' }], `The selector ${JSON.stringify(raw)} names no service: write "web" or "flagSetId=web"`);
    }
    service = raw.slice(eq + 1);
  }
  if (!SERVICE_NAME.test(service)) {
    throw new ValidationError([{ path: 'selector', message: 'must name a service' }], 'The selector must name a service: "web" or "flagSetId=web"');
  }
  return service;
}

interface OpenStream {
  readonly call: grpc.ServerWritableStream<SyncRequest, unknown>;
  readonly service: string;
  version: number;
  stop: () => void;
}

/**
 * Builds the gRPC server (not bound). `close()` ends every open stream with OK, refuses new ones
 * and shuts the server down; flagd reconnects to another instance, or to this one when it is back.
 */
export class FlagSyncServer {
  readonly server: grpc.Server;
  private readonly exporter = new FlagdExporter();
  private readonly open = new Set<OpenStream>();
  private closing = false;
  private readonly maxQueuedBytes: number;

  constructor(private readonly deps: FlagSyncDeps) {
    this.maxQueuedBytes = deps.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    const definition = protoLoader.loadSync(syncProtoPath(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      flagd: { sync: { v1: { FlagSyncService: grpc.ServiceClientConstructor } } };
    };
    this.server = new grpc.Server({
      // HTTP/2 pings find a flagd that vanished without a word, as the SSE `: ping` does.
      'grpc.keepalive_time_ms': 15_000,
      'grpc.keepalive_timeout_ms': 5_000,
    });
    this.server.addService(pkg.flagd.sync.v1.FlagSyncService.service, {
      SyncFlags: (call: grpc.ServerWritableStream<SyncRequest, unknown>) => this.syncFlags(call),
      FetchAllFlags: (call: grpc.ServerUnaryCall<SyncRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => this.fetchAll(call, callback),
    });
  }

  /** Open SyncFlags streams. */
  get size(): number {
    return this.open.size;
  }

  /** Binds `host:port` (0: any free port) and resolves with the port bound. For main.ts and tests. */
  listen(host: string, port: number): Promise<number> {
    const target = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  /** Ends every stream cleanly, refuses new calls, and resolves once the server has shut down. */
  close(timeoutMs = 5_000): Promise<void> {
    this.closing = true;
    for (const s of [...this.open]) {
      this.forget(s);
      try {
        s.call.end();
      } catch {
        // Already gone.
      }
    }
    return new Promise((resolve) => {
      const force = setTimeout(() => this.server.forceShutdown(), timeoutMs);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  /** The caller's service, after the same checks as the HTTP route, in the same order. */
  private async admit(call: grpc.ServerUnaryCall<SyncRequest, unknown> | grpc.ServerWritableStream<SyncRequest, unknown>): Promise<{ actor: Actor; doc: ServiceDocument }> {
    if (this.closing) throw new SwitchyardError('shutting_down', 'The server is shutting down; reconnect in a moment');
    const header = call.metadata.get('authorization')[0];
    const actor = await this.deps.authenticate(typeof header === 'string' ? header : undefined);
    if (this.closing) throw new SwitchyardError('shutting_down', 'The server is shutting down; reconnect in a moment');
    const selectorHeader = call.metadata.get('flagd-selector')[0];
    const service = selectedService(call.request.selector, typeof selectorHeader === 'string' ? selectorHeader : undefined);
    this.deps.authorize(actor, service);
    return { actor, doc: this.deps.documents.current(service) };
  }

  private payload(doc: ServiceDocument): string {
    return this.exporter.export({ ...doc, createdAt: '' }).json;
  }

  private fetchAll(call: grpc.ServerUnaryCall<SyncRequest, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    this.admit(call).then(
      ({ doc }) => {
        let payload: string;
        try {
          payload = this.payload(doc);
        } catch (err) {
          callback(this.refusal(err, 'FetchAllFlags'));
          return;
        }
        callback(null, { flag_configuration: payload });
      },
      (err: unknown) => callback(this.refusal(err, 'FetchAllFlags')),
    );
  }

  private syncFlags(call: grpc.ServerWritableStream<SyncRequest, unknown>): void {
    this.admit(call).then(
      (admitted) => this.openStream(call, admitted),
      (err: unknown) => this.fail(call, this.refusal(err, 'SyncFlags')),
    );
  }

  private openStream(call: grpc.ServerWritableStream<SyncRequest, unknown>, admitted: { actor: Actor; doc: ServiceDocument }): void {
    let stream: OpenStream;
    try {
      if (call.cancelled) return;
      const { actor, doc } = admitted;
      stream = { call, service: doc.service, version: -1, stop: () => {} };
      // The place under the caps first: a refused stream sends nothing.
      const release = this.deps.slots.acquire({ setHeader: () => undefined }, actor.tokenId, () => {
        this.forget(stream);
        this.fail(call, this.status(grpc.status.UNAUTHENTICATED, 'unauthorized', 'The token was revoked'));
      });
      const unsubscribe = this.deps.documents.subscribe(doc.service, (next) => this.deliver(stream, next));
      stream.stop = () => {
        unsubscribe();
        release();
      };
      this.open.add(stream);
      this.deps.onCountChange?.(this.open.size);
      call.on('cancelled', () => this.forget(stream));
      call.on('close', () => this.forget(stream));
      call.on('error', () => this.forget(stream));
      // The state as of now; anything committed since the subscription is delivered after it.
      this.deliver(stream, this.deps.documents.current(doc.service));
    } catch (err) {
      this.fail(call, this.refusal(err, 'SyncFlags'));
    }
  }

  private deliver(stream: OpenStream, doc: ServiceDocument): void {
    // Versions only grow; the first message may already be newer than a change heard meanwhile.
    if (doc.version <= stream.version || !this.open.has(stream)) return;
    stream.version = doc.version;
    stream.call.write({ flag_configuration: this.payload(doc) });
    if (stream.call.writableLength > this.maxQueuedBytes) {
      this.forget(stream);
      this.fail(stream.call, this.status(grpc.status.UNAVAILABLE, 'server_busy', 'This stream fell too far behind; reconnect for the current state'));
    }
  }

  /**
   * Ends a stream with an error status. grpc-js sends the status a server stream's 'error' event
   * carries (`destroy` would drop it: a destroyed stream never reaches its final write).
   */
  private fail(call: grpc.ServerWritableStream<SyncRequest, unknown>, status: Partial<grpc.StatusObject> & Error): void {
    call.emit('error', status);
  }

  private forget(stream: OpenStream): void {
    if (!this.open.delete(stream)) return;
    stream.stop();
    this.deps.onCountChange?.(this.open.size);
  }

  private status(code: grpc.status, switchyardCode: string, details: string): Partial<grpc.StatusObject> & Error {
    const metadata = new grpc.Metadata();
    metadata.set('switchyard-code', switchyardCode);
    return Object.assign(new Error(details), { code, details, metadata });
  }

  private refusal(err: unknown, rpc: string): Partial<grpc.StatusObject> & Error {
    if (err instanceof SwitchyardError) {
      this.deps.logger.info({ rpc, code: err.code }, 'flag sync refused');
      return this.status(grpcStatusOf(err.status), err.code, err.message);
    }
    this.deps.logger.error({ err, rpc }, 'flag sync failed');
    return this.status(grpc.status.INTERNAL, 'internal_error', 'Internal error');
  }
}

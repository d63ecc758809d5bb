import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { promisify } from 'node:util';
import { PolicyError, SwitchyardError } from '../errors.js';

/** The parts of an `opa build -t wasm` bundle that Switchyard uses. */
export interface PolicyBundle {
  /** "sha256:" + hash over the wasm module and the data document: the identity decisions record. */
  revision: string;
  /** The `--revision` given to `opa build` (from .manifest), if any. */
  manifestRevision: string | null;
  wasmSha256: string;
  entrypoints: string[];
  wasm: Buffer;
  data: Record<string, unknown>;
  /** The bundle exactly as uploaded, kept so any past revision can be reloaded to replay a decision. */
  raw: Buffer;
}

const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;
/** The most a bundle may decompress to: past it the upload is a gzip bomb, however small. */
export const MAX_TAR_BYTES = MAX_ENTRY_BYTES * 2;
/**
 * The .manifest is metadata (a revision, roots, entrypoints); its revision is copied into the
 * policy_activated audit event, which must stay small.
 */
export const MAX_MANIFEST_BYTES = 64 * 1024;

const gunzip = promisify(zlib.gunzip);

async function untar(gz: Buffer): Promise<Map<string, Buffer>> {
  let tarBytes: Buffer;
  try {
    // On the thread pool, not the main thread: up to 128 MiB of output takes a while.
    tarBytes = await gunzip(gz, { maxOutputLength: MAX_TAR_BYTES });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SwitchyardError('payload_too_large', `The decompressed bundle exceeds ${MAX_TAR_BYTES / 1024 / 1024} MiB`);
    }
    throw new PolicyError('policy_invalid', 'The policy bundle is not a gzip-compressed tar file');
  }
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\.?\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([tarBytes]).pipe(extract);
  try {
    await done;
  } catch {
    throw new PolicyError('policy_invalid', 'The policy bundle is not a valid tar archive');
  }
  return files;
}

/**
 * Parses an `opa build -t wasm` bundle. Throws `policy_invalid` (400) for anything that is not one;
 * whether the wasm actually loads and answers is checked by the engine, not here.
 */
export async function parseBundle(raw: Buffer): Promise<PolicyBundle> {
  if (raw.length === 0) throw new PolicyError('policy_invalid', 'The policy bundle is empty');
  if (raw.length > MAX_BUNDLE_BYTES) throw new PolicyError('policy_invalid', 'The policy bundle is larger than 32 MiB');
  const files = await untar(raw);
  const wasm = files.get('policy.wasm');
  if (!wasm) throw new PolicyError('policy_invalid', 'The bundle has no policy.wasm: build it with `opa build -t wasm`');
  let data: Record<string, unknown> = {};
  const dataBytes = files.get('data.json');
  if (dataBytes) {
    try {
      const parsed: unknown = JSON.parse(dataBytes.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      data = parsed as Record<string, unknown>;
    } catch {
      throw new PolicyError('policy_invalid', 'The bundle data.json is not a JSON object');
    }
  }
  let manifestRevision: string | null = null;
  let entrypoints: string[] = [];
  const manifestBytes = files.get('.manifest');
  if (manifestBytes) {
    if (manifestBytes.length > MAX_MANIFEST_BYTES) {
      throw new PolicyError('policy_invalid', `The bundle .manifest is ${manifestBytes.length} bytes; at most ${MAX_MANIFEST_BYTES / 1024} KiB is accepted`);
    }
    try {
      const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
        revision?: string;
        wasm?: { entrypoint?: string }[];
      };
      manifestRevision = typeof manifest.revision === 'string' && manifest.revision !== '' ? manifest.revision : null;
      entrypoints = (manifest.wasm ?? []).map((w) => w.entrypoint).filter((e): e is string => typeof e === 'string');
    } catch {
      throw new PolicyError('policy_invalid', 'The bundle .manifest is not valid JSON');
    }
  }
  const wasmSha256 = crypto.createHash('sha256').update(wasm).digest('hex');
  const revision =
    'sha256:' +
    crypto
      .createHash('sha256')
      .update('policy.wasm\0')
      .update(wasm)
      .update('\0data.json\0')
      .update(dataBytes ?? Buffer.from('{}'))
      .digest('hex');
  return { revision, manifestRevision, wasmSha256, entrypoints, wasm, data, raw };
}

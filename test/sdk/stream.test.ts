/**
 * The client against the real server's SSE stream, behind a TCP proxy that keeps the client's
 * base URL fixed while the server restarts (on a new port) or the network is cut.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientOptions, type SwitchyardClient } from '../../src/sdk/index.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { act, contexts, launch, memoryLogger, nextChange, serviceToken, TcpProxy, type MemoryLogger } from './sdk-helpers.js';

const CONTEXTS = contexts(1_000);

function answers(client: SwitchyardClient): string[] {
  const keys = Object.keys(client.document()!.flags);
  return keys.flatMap((key) =>
    CONTEXTS.map((ctx) => {
      const r = client.evaluate(key, ctx, '');
      return `${key}|${String(r.value)}|${r.variant}|${r.reason}|${r.errorCode ?? ''}`;
    }),
  );
}

describe('SDK client streaming from the server', () => {
  let s: TestServer;
  let proxy: TcpProxy;
  let token: string;
  const clients: SwitchyardClient[] = [];

  /** Polling is off in effect (one minute), so every change below can only have come by stream. */
  const open = (opts: Partial<ClientOptions> = {}): SwitchyardClient & { logger: MemoryLogger } => {
    const logger = memoryLogger();
    const client = createClient({
      baseUrl: proxy.base,
      service: 'web',
      token,
      pollIntervalMs: 60_000,
      reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
      logger,
      ...opts,
    });
    clients.push(client);
    return Object.assign(client, { logger });
  };

  beforeAll(async () => {
    s = await startServer();
    await launch(s, 'stream-a', { exposure: 50 });
    token = await serviceToken(s);
    proxy = await TcpProxy.start(s.base);
  });
  /** Puts the proxy back however a test ends, so one failure does not fail the rest. */
  let cleanup: (() => void | Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.close();
    await s.close();
  });

  it('receives a pause, a resume and a new experiment over the stream', async () => {
    const client = open();
    await client.ready();
    const ctx = CONTEXTS.find((c) => client.evaluate('stream_a_flag', c, '').reason === 'SPLIT')!;
    const arm = client.evaluate('stream_a_flag', ctx, '');

    let changed = nextChange(client);
    await act(s, 'stream-a', 'pause');
    expect(await changed).toMatchObject({ source: 'stream', changedFlags: ['stream_a_flag'] });
    expect(client.evaluate('stream_a_flag', ctx, '')).toMatchObject({ reason: 'DISABLED', variant: 'control', value: 'off' });

    changed = nextChange(client);
    await act(s, 'stream-a', 'resume');
    expect(await changed).toMatchObject({ source: 'stream', changedFlags: ['stream_a_flag'] });
    expect(client.evaluate('stream_a_flag', ctx, '')).toEqual(arm);

    changed = nextChange(client);
    await launch(s, 'stream-b');
    const change = await changed;
    expect(change).toMatchObject({ source: 'stream', changedFlags: ['stream_b_flag'] });
    expect(client.version).toBe((await s.api.get('/v1/services/web/flags')).body.version);
    expect(client.connection).toBe('stream');
  });

  it('keeps every answer through an outage and catches up by Last-Event-ID when the network returns', async () => {
    await launch(s, 'stream-o', { exposure: 50 });
    const client = open();
    await client.ready();
    const version = client.version;
    const before = answers(client);

    let from = client.logger.entries.length;
    proxy.cut();
    cleanup = () => proxy.restore();
    await client.logger.waitFor(/flags stream lost/, from);
    // Changed while the client cannot hear it.
    await launch(s, 'stream-outage');
    await act(s, 'stream-o', 'pause');
    // A few failed reconnections later, nothing has moved.
    for (let i = 0; i < 3; i++) {
      from = client.logger.entries.length;
      await client.logger.waitFor(/flags stream lost/, from);
    }
    expect(client.version).toBe(version);
    expect(answers(client)).toEqual(before);
    expect(client.connection).toBe('offline');

    const changed = nextChange(client);
    proxy.restore();
    const change = await changed;
    expect(change.source).toBe('stream');
    expect([...change.changedFlags].sort()).toEqual(['stream_o_flag', 'stream_outage_flag']);
    expect(client.evaluate('stream_o_flag', CONTEXTS[0]!, '').reason).toBe('DISABLED');
  });

  it('resumes after the server restarts', async () => {
    const client = open();
    await client.ready();
    const before = answers(client);
    const version = client.version;

    await s.restart();
    cleanup = async () => proxy.restore(s.base);
    // The proxy still points at the old port: reconnections fail until it follows the server.
    expect(answers(client)).toEqual(before);
    expect(client.version).toBe(version);

    const from = client.logger.entries.length;
    const changed = nextChange(client);
    proxy.restore(s.base);
    await client.logger.waitFor(/flags stream reconnected/, from);
    await launch(s, 'stream-after-restart');
    const change = await changed;
    expect(change).toMatchObject({ source: 'stream', previousVersion: version, changedFlags: ['stream_after_restart_flag'] });
    // Only the new experiment changed: a resume at the same version delivers nothing twice.
    expect(change.version).toBe(version! + 1);
  });

  it('falls back to ETag polling when the stream cannot be opened', async () => {
    const noStream: typeof fetch = (url, init) =>
      String(url).endsWith('/flags/stream')
        ? Promise.resolve(new Response('{"code":"not_found"}', { status: 404, headers: { 'content-type': 'application/problem+json' } }))
        : fetch(url, init);
    await launch(s, 'stream-p');
    const client = open({ baseUrl: s.base, fetch: noStream, pollIntervalMs: 20 });
    await client.ready();
    await client.logger.waitFor(/flags stream lost/);

    const changed = nextChange(client);
    await act(s, 'stream-p', 'pause');
    expect(await changed).toMatchObject({ source: 'poll', changedFlags: ['stream_p_flag'] });
    expect(client.connection).toBe('poll');
  });
});

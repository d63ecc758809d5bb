import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateDocument, evaluateFlag, type FlagsDocument } from '../../src/evaluation/index.js';
import { createClient, type SwitchyardClient } from '../../src/sdk/index.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { act, contexts, launch, memoryLogger, nextChange, serviceToken } from './sdk-helpers.js';

const CONTEXTS = contexts(1_000);

/** Every answer the client gives for every flag of `doc` and every context, as comparable strings. */
function answers(client: SwitchyardClient, keys: string[]): string[] {
  const out: string[] = [];
  for (const key of keys) {
    for (const ctx of CONTEXTS) {
      const r = client.evaluate(key, ctx, 'fallback');
      out.push(`${key}|${String(r.value)}|${r.variant}|${r.reason}|${r.errorCode ?? ''}`);
    }
  }
  return out;
}

async function serverDocument(s: TestServer): Promise<FlagsDocument> {
  const res = await s.api.get('/v1/services/web/flags');
  expect(res.status).toBe(200);
  return res.body as FlagsDocument;
}

/** A port nothing listens on: every request to it is refused. */
async function deadBase(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('SDK client', () => {
  let s: TestServer;
  let token: string;
  const clients: SwitchyardClient[] = [];
  const open = (opts: Partial<Parameters<typeof createClient>[0]> = {}): SwitchyardClient => {
    const c = createClient({ baseUrl: s.base, service: 'web', token, mode: 'poll', pollIntervalMs: 60_000, logger: memoryLogger(), ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    s = await startServer();
    await launch(s, 'sdk-split', { exposure: 50 });
    await launch(s, 'sdk-audience', {
      exposure: 40,
      audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
      variants: [
        { key: 'off', weight: 1, value: false },
        { key: 'on', weight: 3, value: true },
      ],
    });
    await launch(s, 'sdk-paused', { exposure: 30 });
    await act(s, 'sdk-paused', 'pause');
    token = await serviceToken(s);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await s.close();
  });

  it('is ready with the server document and answers exactly as evaluateFlag does', async () => {
    const client = open();
    await client.ready();
    const doc = await serverDocument(s);
    expect(client.document()).toEqual(doc);
    expect(client.version).toBe(doc.version);
    expect(Object.keys(doc.flags).sort()).toEqual(['sdk_audience_flag', 'sdk_paused_flag', 'sdk_split_flag']);

    const seen = new Set<string>();
    for (const [key, flag] of Object.entries(doc.flags)) {
      const fallback = typeof flag.variants[flag.default_variant] === 'boolean' ? false : 'fallback';
      for (const ctx of CONTEXTS) {
        const expected = evaluateFlag(key, flag, ctx);
        const got = client.evaluate(key, ctx, fallback);
        seen.add(expected.errorCode ?? expected.reason);
        if (expected.reason === 'ERROR') {
          expect(got).toMatchObject({ reason: 'ERROR', errorCode: expected.errorCode, value: fallback, variant: undefined });
        } else {
          expect(got).toMatchObject({ reason: expected.reason, variant: expected.variant, value: expected.value });
        }
      }
    }
    // The contexts reach every branch of SPEC §6.
    expect([...seen].sort()).toEqual(['DEFAULT', 'DISABLED', 'SPLIT', 'TARGETING_KEY_MISSING']);
    for (const ctx of CONTEXTS.slice(0, 200)) expect(client.evaluateAll(ctx)).toEqual(evaluateDocument(doc, ctx));
  });

  it('returns the caller default with PROVIDER_NOT_READY before any state, and ready() times out', async () => {
    // A server that never answers: the request hangs until the client gives up on it.
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    const client = open({ fetch: hanging, readyTimeoutMs: 100 });
    expect(client.evaluate('sdk_split_flag', { user_id: 'u1' }, 'fallback')).toEqual({
      flag: 'sdk_split_flag',
      value: 'fallback',
      variant: undefined,
      reason: 'ERROR',
      errorCode: 'PROVIDER_NOT_READY',
      errorMessage: expect.any(String),
    });
    expect(client.evaluateAll({ user_id: 'u1' })).toEqual({});
    expect(client.version).toBeUndefined();
    await expect(client.ready()).rejects.toMatchObject({ name: 'SwitchyardSdkError', code: 'not_ready' });
    await client.close();
    expect(client.connection).toBe('closed');
  });

  it('rejects ready() at once for a refused token or an unknown service', async () => {
    // "At once" is behaviour, not a duration: with no ready timer at all (readyTimeoutMs: Infinity)
    // only the server's first answer can settle ready(), and it does so after exactly one request,
    // with the answer's own code, not `not_ready` after retries.
    const adminSecret = (await s.token({ name: 'admin2', role: 'admin' })).secret;
    const cases: [Partial<Parameters<typeof createClient>[0]>, string][] = [
      [{ token: 'sy_not_a_token' }, 'unauthorized'],
      [{ service: 'no-such-service', token: adminSecret }, 'service_not_found'],
      [{ service: 'search' }, 'forbidden'],
    ];
    for (const [opts, code] of cases) {
      let requests = 0;
      const counting: typeof fetch = (url, init) => {
        requests++;
        return fetch(url, init);
      };
      const started = performance.now();
      await expect(open({ ...opts, fetch: counting, readyTimeoutMs: Infinity }).ready()).rejects.toMatchObject({ code });
      console.info(`ready() rejected with ${code} after ${requests} request(s) in ${(performance.now() - started).toFixed(0)} ms`);
      expect(requests, `${code}: one answer settles ready(), no retry`).toBe(1);
    }
  });

  it('answers FLAG_NOT_FOUND and TYPE_MISMATCH with the caller default', async () => {
    const client = open();
    await client.ready();
    const ctx = { user_id: 'user-1', locale: 'en-US' };
    expect(client.evaluate('no_such_flag', ctx, 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', variant: undefined });
    expect(client.evaluate('sdk_split_flag', ctx, true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(client.evaluate('sdk_audience_flag', ctx, { on: 1 })).toMatchObject({ value: { on: 1 }, errorCode: 'TYPE_MISMATCH' });
    expect(client.evaluate('sdk_audience_flag', ctx, false).errorCode).toBeUndefined();
    // null (or undefined) as the default accepts whatever type the flag serves.
    expect(client.evaluate('sdk_split_flag', ctx, null).value).toMatch(/^(on|off)$/);
  });

  it('polls with If-None-Match and applies a pause', async () => {
    await launch(s, 'sdk-poll');
    let notModified!: () => void;
    const sawNotModified = new Promise<void>((resolve) => (notModified = resolve));
    const counting: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (res.status === 304 && new Headers(init?.headers).has('if-none-match')) notModified();
      return res;
    };
    const client = open({ fetch: counting, pollIntervalMs: 20 });
    await client.ready();
    const ctx = CONTEXTS.find((c) => client.evaluate('sdk_poll_flag', c, '').reason === 'SPLIT')!;
    await sawNotModified;

    const changed = nextChange(client);
    await act(s, 'sdk-poll', 'pause');
    const change = await changed;
    expect(change).toMatchObject({ source: 'poll', previousVersion: change.version - 1, changedFlags: ['sdk_poll_flag'] });
    expect(client.evaluate('sdk_poll_flag', ctx, '')).toMatchObject({ reason: 'DISABLED', variant: 'control', value: 'off' });
  });

  it('ignores corrupt, foreign and older documents and server errors, then recovers', async () => {
    type Corruption = 'none' | 'garbage' | 'truncated' | 'older' | 'wrong-service' | 'no-version' | 'flags-array' | 'http-500' | 'network';
    let mode: Corruption = 'none';
    let good: FlagsDocument | undefined;
    const corrupting: typeof fetch = async (url, init) => {
      if (mode === 'none') return fetch(url, init);
      if (mode === 'network') throw new TypeError('fetch failed');
      if (mode === 'http-500') return new Response('{"code":"internal"}', { status: 500 });
      const doc = structuredClone(good!) as unknown as Record<string, unknown>;
      let body: string;
      if (mode === 'garbage') body = '<html>502 Bad Gateway</html>';
      else if (mode === 'truncated') body = JSON.stringify(doc).slice(0, 40);
      else if (mode === 'older') body = JSON.stringify({ ...doc, version: good!.version - 1, flags: {} });
      else if (mode === 'wrong-service') body = JSON.stringify({ ...doc, service: 'search', version: good!.version + 5, flags: {} });
      else if (mode === 'no-version') body = JSON.stringify({ service: 'web', flags: {} });
      else body = JSON.stringify({ ...doc, version: good!.version + 5, flags: [] });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json', etag: '"corrupt"' } });
    };
    const logger = memoryLogger();
    const client = open({ fetch: corrupting, pollIntervalMs: 10, logger });
    await client.ready();
    good = structuredClone(client.document()!);
    const keys = Object.keys(good.flags);
    const before = answers(client, keys);

    const expectations: [Corruption, RegExp][] = [
      ['garbage', /invalid flags document/],
      ['truncated', /invalid flags document/],
      ['older', /older flags document/],
      ['wrong-service', /invalid flags document/],
      ['no-version', /invalid flags document/],
      ['flags-array', /invalid flags document/],
      ['http-500', /poll failed/],
      ['network', /poll failed/],
    ];
    for (const [corruption, logged] of expectations) {
      const from = logger.entries.length;
      mode = corruption;
      // Two rounds, so the second response is judged against the state the first one left.
      await logger.waitFor(logged, from);
      await logger.waitFor(logged, logger.entries.length);
      expect(client.version, corruption).toBe(good.version);
      expect(answers(client, keys), corruption).toEqual(before);
    }
    expect(logger.entries.find((e) => e.message.includes('older'))?.details).toMatchObject({ held: good.version, received: good.version - 1 });

    mode = 'none';
    const changed = nextChange(client);
    await launch(s, 'sdk-recover');
    expect((await changed).changedFlags).toEqual(['sdk_recover_flag']);
    expect(client.evaluate('sdk_recover_flag', { user_id: 'user-1' }, '').errorCode).toBeUndefined();
  });

  it('persists the last good document atomically and serves it when the server is unreachable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-sdk-'));
    const persistPath = path.join(dir, 'state', 'web.json');
    try {
      const first = open({ persistPath });
      await first.ready();
      const keys = Object.keys(first.document()!.flags);
      const before = answers(first, keys);
      const version = first.version;
      await first.close();
      expect(JSON.parse(fs.readFileSync(persistPath, 'utf8'))).toEqual(first.document());
      expect(fs.readdirSync(path.dirname(persistPath))).toEqual(['web.json']);

      const logger = memoryLogger();
      const offline = open({ baseUrl: await deadBase(), persistPath, logger });
      await offline.ready();
      expect(offline.version).toBe(version);
      expect(offline.connection).toBe('offline');
      expect(answers(offline, keys)).toEqual(before);
      expect(logger.entries.map((e) => e.message)).toContain('serving flags from the state file until the server answers');

      // A state file for another service, or a damaged one, is not served.
      fs.writeFileSync(persistPath, JSON.stringify({ ...first.document(), service: 'search' }));
      await expect(open({ baseUrl: await deadBase(), persistPath, readyTimeoutMs: 200 }).ready()).rejects.toMatchObject({ code: 'not_ready' });
      fs.writeFileSync(persistPath, '{"service":"web","vers');
      await expect(open({ baseUrl: await deadBase(), persistPath, readyTimeoutMs: 200 }).ready()).rejects.toMatchObject({ code: 'not_ready' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a persisted document with the server one once the server answers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-sdk-'));
    const persistPath = path.join(dir, 'web.json');
    try {
      const doc = await serverDocument(s);
      // A file from another database: a higher version, and a flag the server does not have.
      const stale = { ...doc, version: doc.version + 100, flags: { ...doc.flags, ghost_flag: doc.flags['sdk_split_flag']! } };
      fs.writeFileSync(persistPath, JSON.stringify(stale));
      let reachable = false;
      const gated: typeof fetch = (url, init) => (reachable ? fetch(url, init) : Promise.reject(new TypeError('fetch failed')));
      const client = open({ fetch: gated, persistPath, pollIntervalMs: 20, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
      await client.ready();
      expect(client.version).toBe(stale.version);
      expect(client.evaluate('ghost_flag', { user_id: 'u' }, '').errorCode).toBeUndefined();

      const changed = nextChange(client, (c) => c.source === 'poll');
      reachable = true;
      const change = await changed;
      expect(change).toMatchObject({ version: doc.version, previousVersion: stale.version, changedFlags: ['ghost_flag'] });
      expect(client.evaluate('ghost_flag', { user_id: 'u' }, '').errorCode).toBe('FLAG_NOT_FOUND');
      await client.close();
      expect(JSON.parse(fs.readFileSync(persistPath, 'utf8')).version).toBe(doc.version);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

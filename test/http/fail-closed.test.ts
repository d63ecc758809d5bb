import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDir, buildBundle, writeBundleWithoutWasm, writeGarbageBundle } from '../fixtures/bundles.js';
import { dumpDatabase, expectDenied } from '../fixtures/http.js';
import { simpleIntent, startServer, type Api, type ApiResponse, type TestServer } from '../helpers/harness.js';

/**
 * Policy evaluation fails closed (STYLE: Errors): without a policy that loads, nothing is allowed,
 * every decision says why, and the server stays up; flag reads fail static.
 */

/** A decision that the engine itself denied because no policy is in force. */
function expectPolicyUnavailable(res: ApiResponse): void {
  const [v] = expectDenied(res, 'policy_unavailable');
  expect(v).toMatchObject({ code: 'policy_unavailable', policy: 'engine' });
  expect(res.body.decision.obligations.approvals).toEqual([]);
  // No internals leak: no stack trace, no file paths.
  expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
}

const bundles = bundleDir();
afterAll(() => fs.rmSync(bundles, { recursive: true, force: true }));

describe.each([
  ['garbage bytes', () => writeGarbageBundle(bundles)],
  ['a gzip tar without policy.wasm', () => writeBundleWithoutWasm(bundles)],
  ['policies/ built for the entrypoint switchyard/allow only', () => buildBundle(bundles, 'switchyard/allow')],
])('booting with a bundle of %s', (_name, make) => {
  let s: TestServer;
  let alice: Api;

  beforeAll(async () => {
    s = await startServer({ bundlePath: await make() });
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
  });
  afterAll(async () => s?.close());

  it('refuses the bundle: no revision is active and /readyz is 503', async () => {
    const res = await fetch(`${s.base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'not_ready', checks: { database: true, policy: false }, policy_revision: null });
    expect(s.container.engine.revision()).toBeNull();
    // Nothing was recorded as activated.
    const db = dumpDatabase(s.container.db);
    expect(db['policy_activations']).toEqual([]);
    expect(s.logs.join('')).toMatch(/policy bundle does not load/);
    // /healthz stays up: the process is alive, just not ready to decide.
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
  });

  it('denies every submission with policy_unavailable (201, not 500) and stores the denial', async () => {
    const res = await alice.post('/v1/intents', simpleIntent('while-broken'));
    expectPolicyUnavailable(res);
    expect(res.body.decision.policy_revision).toBe('none');
    const got = await alice.get('/v1/intents/while-broken');
    expect(got.body).toMatchObject({ status: 'denied', state: 'draft', active_version: null });
  });

  it('denies in a dry run too', async () => {
    const res = await alice.post('/v1/intents:evaluate', simpleIntent('dry-while-broken'));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('denied');
    expect(res.body.decision.violations.map((v: { code: string }) => v.code)).toEqual(['policy_unavailable']);
  });

  it('still serves flag reads', async () => {
    const res = await alice.get('/v1/services/web/flags');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ service: 'web', version: 0, flags: {} });
    expect(res.headers.get('etag')).toBeTruthy();
  });
});

describe('the decision entrypoint', () => {
  it('refuses a bundle without switchyard/decision, saying which entrypoint it needs and which it found', async () => {
    const s = await startServer({ bundlePath: buildBundle(bundles, 'switchyard/allow') });
    try {
      const logs = s.logs.join('');
      expect(logs).toContain('no entrypoint switchyard/decision');
      expect(logs).toContain('it has: switchyard/allow');
    } finally {
      await s.close();
    }
  });

  it('accepts a bundle built for switchyard/allow without pruning: opa enumerates switchyard/decision too', async () => {
    const s = await startServer({ bundlePath: buildBundle(bundles, 'switchyard/allow', { pruneUnused: false }) });
    try {
      expect((await fetch(`${s.base}/readyz`)).status).toBe(200);
      const alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
      expect((await alice.post('/v1/intents', simpleIntent('full-policy'))).body.status).toBe('approved');
      // Still the real governance, not a permissive stand-in.
      expect((await alice.post('/v1/intents', simpleIntent('too-wide', { exposure: 90 }))).body.status).toBe('denied');
    } finally {
      await s.close();
    }
  });
});

describe('when the active policy stops loading after a restart', () => {
  let s: TestServer;
  let alice: Api;

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    expect((await alice.post('/v1/intents', simpleIntent('kept-running'))).body.state).toBe('running');
    // The bundle stored as active no longer loads (say, a wasm the runtime now rejects).
    s.container.db.prepare('UPDATE policy_bundles SET raw = ?').run(Buffer.from('not a bundle any more'));
    await s.restart();
  });
  afterAll(async () => s.close());

  it('is not ready and denies new decisions', async () => {
    expect((await fetch(`${s.base}/readyz`)).status).toBe(503);
    expectPolicyUnavailable(await alice.post('/v1/intents', simpleIntent('after-restart')));
  });

  it('keeps serving the last good flags (fail static)', async () => {
    const res = await alice.get('/v1/services/web/flags');
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(1);
    expect(res.body.flags.kept_running_flag).toMatchObject({ state: 'ENABLED', experiment: { key: 'kept-running', version: 1 } });
  });
});

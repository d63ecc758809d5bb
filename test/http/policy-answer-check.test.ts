import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDir } from '../fixtures/bundles.js';
import { expectDenied } from '../fixtures/http.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { OPA_BIN, ROOT } from '../helpers/paths.js';

/**
 * The engine does not take the policy's `allow` on trust: a decision whose `allow` disagrees with
 * its own violations is a broken policy, and a broken policy denies (fail closed). The bundle here
 * is the shipped policies/ with one rule changed, built by the real opa: `allow` is true for the key
 * `too-wide` whatever the violations say (and honest otherwise, so the bundle passes its probe).
 */
const dir = bundleDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function buildAlwaysAllow(): string {
  const src = path.join(dir, 'policies');
  fs.cpSync(path.join(ROOT, 'policies'), src, { recursive: true });
  const decision = path.join(src, 'decision.rego');
  const text = fs.readFileSync(decision, 'utf8');
  const changed = text.replace(
    'allow := count(violations) == 0',
    'allow := true if input.intent.key == "too-wide"\n\nelse := count(violations) == 0',
  );
  expect(changed).not.toBe(text);
  fs.writeFileSync(decision, changed);
  const out = path.join(dir, 'always-allow.tar.gz');
  execFileSync(OPA_BIN, ['build', '-t', 'wasm', '-e', 'switchyard/decision', '--ignore', '*_test.rego', '-o', out, src], { stdio: 'pipe' });
  return out;
}

describe('a policy whose allow disagrees with its violations', () => {
  let s: TestServer;
  let alice: Api;

  beforeAll(async () => {
    s = await startServer({ bundlePath: buildAlwaysAllow() });
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
  });
  afterAll(async () => s?.close());

  it('is active, and honest answers pass', async () => {
    expect((await fetch(`${s.base}/readyz`)).status).toBe(200);
    expect((await alice.post('/v1/intents', simpleIntent('agrees'))).body.status).toBe('approved');
  });

  it('denies, fail closed with policy_error, an intent it lists violations for while saying allow', async () => {
    const res = await alice.post('/v1/intents', simpleIntent('too-wide', { exposure: 90 }));
    const [v] = expectDenied(res, 'policy_error');
    expect(v!.message).toMatch(/allow but lists violations/);
    expect((await alice.get('/v1/services/web/flags')).body.flags).not.toHaveProperty('too_wide_flag');
  });
});

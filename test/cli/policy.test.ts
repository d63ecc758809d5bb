import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { cli, ensureCliBuilt, tempDir, type CliResult } from './cli-process.js';

const outcome = (r: CliResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

/** A copy of policies/ with the standard tier capped at `cap` %, as a governance team would edit it. */
function stricterPolicies(dir: string, cap: number): string {
  const copy = path.join(dir, 'policies');
  fs.cpSync(path.join(ROOT, 'policies'), copy, { recursive: true });
  const file = path.join(copy, 'data.json');
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  data.switchyard.catalog.tier_caps.standard = cap;
  fs.writeFileSync(file, JSON.stringify(data, null, 2));
  return copy;
}

describe('switchyard policy test | build | publish (real opa, real server)', () => {
  let s: TestServer;
  let gov: Api & { secret: string };
  let owner: Api & { secret: string };
  let dir: string;
  const sy = (args: string[], token?: string, env: Record<string, string> = {}) =>
    cli(args, { env: { SWITCHYARD_URL: s.base, ...(token ? { SWITCHYARD_TOKEN: token } : {}), ...env } });

  beforeAll(async () => {
    await ensureCliBuilt();
    s = await startServer();
    gov = await s.token({ name: 'gina', role: 'governance' });
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    // two running experiments on web (standard tier, cap 50): 10 % and 30 %
    expect((await owner.post('/v1/intents', simpleIntent('small-test', { exposure: 10 }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents', simpleIntent('big-test', { exposure: 30 }))).body.state).toBe('running');
    dir = tempDir();
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('policy test runs opa test on policies/ (exit 0), and a failing test is exit 2', async () => {
    const ok = await sy(['policy', 'test']);
    expect(outcome(ok)).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/PASS: \d+\/\d+/);

    const broken = path.join(dir, 'broken');
    fs.cpSync(path.join(ROOT, 'policies'), broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'zz_test.rego'), 'package switchyard.zz_test\n\ntest_always_fails if {\n\tfalse\n}\n');
    const failing = await sy(['policy', 'test', '--dir', broken]);
    expect(outcome(failing)).toMatchObject({ code: 2 });
    expect(failing.stdout).toContain('test_always_fails');
    expect(failing.stderr).toMatch(/error: policy tests failed \(opa exited with \d+\)/);
  });

  it('finds opa through --opa, then SWITCHYARD_OPA; a missing binary is exit 2 that says how to get one', async () => {
    const viaFlag = await sy(['policy', 'test', '--opa', '/nonexistent/opa']);
    expect(outcome(viaFlag)).toMatchObject({ code: 2 });
    expect(viaFlag.stderr).toContain('cannot run opa (/nonexistent/opa): not found; pass --opa PATH, set SWITCHYARD_OPA');
    const viaEnv = await sy(['policy', 'test'], undefined, { SWITCHYARD_OPA: '/elsewhere/opa' });
    expect(viaEnv.stderr).toContain('cannot run opa (/elsewhere/opa)');
    expect((await sy(['policy', 'test', '--dir', path.join(dir, 'no-such-folder')])).code).toBe(1);
  });

  it('policy build writes the wasm bundle with the manifest revision make gives the same sources', async () => {
    const out = path.join(dir, 'bundle.tar.gz');
    const r = await sy(['--json', 'policy', 'build', '-o', out]);
    expect(outcome(r)).toMatchObject({ code: 0 });
    const built = JSON.parse(r.stdout);
    // the Makefile's POLICY_REV, computed by the shell as make does
    const makeRevision = execFileSync('bash', ['-c', "find policies -type f ! -name '*_test.rego' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16"], { cwd: ROOT, encoding: 'utf8' }).trim();
    expect(built).toEqual({ bundle: out, revision: makeRevision, bytes: fs.statSync(out).size });
    // what the server would load: a dry run accepts it
    const dry = await sy(['--json', 'policy', 'publish', '--dry-run', '-f', out], gov.secret);
    expect(outcome(dry)).toMatchObject({ code: 0 });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, activated: false });
  });

  it('policy publish --dry-run prints the impact table and changes nothing', async () => {
    const bundle = path.join(dir, 'stricter.tar.gz');
    const build = await sy(['policy', 'build', '--dir', stricterPolicies(path.join(dir, 'strict'), 20), '-o', bundle]);
    expect(outcome(build)).toMatchObject({ code: 0 });
    expect(build.stdout).toMatch(/^built .*stricter\.tar\.gz \(revision [0-9a-f]{16}, \d+ bytes\)\n$/);

    const active = (await gov.get('/v1/policy')).body.revision as string;
    const r = await sy(['policy', 'publish', '--dry-run', '-f', bundle], gov.secret);
    expect(outcome(r)).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^dry run: candidate sha256:[0-9a-f]{12}… against active sha256:[0-9a-f]{12}…; nothing was changed$/);
    expect(lines[0]).toContain(active.slice(0, 19));
    expect(lines[1]).toBe('2 live experiments re-evaluated: 1 would be denied, 1 would change');
    expect(lines[2]).toMatch(/^EXPERIMENT\s+VERSION\s+STATE\s+NOW\s+CANDIDATE\s+CHANGED$/);
    expect(r.stdout).toMatch(/\nbig-test\s+1\s+running\s+approved\s+denied\s+yes\n/);
    expect(r.stdout).toMatch(/\nsmall-test\s+1\s+running\s+approved\s+approved\s+no\n/);
    expect(r.stdout).toContain('big-test v1 under the candidate:\n  ✗ max_exposure (exposure): exposure 30% is above the 20% cap of standard service web [service web]');
    expect((await gov.get('/v1/policy')).body.revision).toBe(active);

    const asJson = await sy(['--json', 'policy', 'publish', '--dry-run', '-f', bundle], gov.secret);
    expect(JSON.parse(asJson.stdout).impact).toMatchObject({ evaluated: 2, would_deny: 1, changed: 1 });
  });

  it('policy publish: refused to an owner (exit 4), a broken bundle (exit 2), no file (exit 1); then published for real', async () => {
    const bundle = path.join(dir, 'stricter.tar.gz');
    expect((await sy(['policy', 'publish', '-f', bundle], owner.secret)).code).toBe(4);
    const junk = path.join(dir, 'junk.tar.gz');
    fs.writeFileSync(junk, 'not a bundle');
    const broken = await sy(['policy', 'publish', '-f', junk], gov.secret);
    expect(outcome(broken)).toMatchObject({ code: 2 });
    expect(broken.stderr).toMatch(/^policy_invalid: /);
    expect((await sy(['policy', 'publish', '-f', path.join(dir, 'none.tar.gz')], gov.secret)).code).toBe(1);

    const before = (await gov.get('/v1/policy')).body.revision as string;
    const r = await sy(['policy', 'publish', '-f', bundle], gov.secret);
    expect(outcome(r)).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^published sha256:[0-9a-f]{12}… \(was sha256:[0-9a-f]{12}…\); it is active now\n/);
    expect(r.stdout).toContain('running experiments are not stopped by a stricter policy');
    const after = (await gov.get('/v1/policy')).body.revision as string;
    expect(after).not.toBe(before);
    expect(r.stdout).toContain(after.slice(0, 19));
  });
});

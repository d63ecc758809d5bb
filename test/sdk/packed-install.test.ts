import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';

/**
 * docs/sdk.md's install path, done as a service would: `npm pack` this repository (the built
 * dist/), install the tarball into an empty project, import `switchyard/sdk` from there and
 * evaluate through OpenFeature against a real server. The answer must be the server's OFREP answer.
 * `--ignore-scripts` because the SDK never loads the server's native module (better-sqlite3);
 * `--prefer-offline` because `npm ci` has already put every package in npm's cache.
 */
describe('the SDK installed from a packed tarball', () => {
  let s: TestServer;
  let dir: string;

  beforeAll(async () => {
    s = await startServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-sdk-pack-'));
  });
  afterAll(async () => {
    await s?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('carries only what a service needs, installs, and evaluates as the server does', async () => {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
    const [packed] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    expect(files).toContain('dist/src/sdk/index.js');
    expect(files).toContain('dist/src/sdk/index.d.ts');
    // Runtime assets the server reads from src/ (the console's files, flagd's sync .proto) ship; no source or test does.
    expect(files.filter((f) => /^(test|bench|src\/(?!console\/static\/|sync\/proto\/))/.test(f))).toEqual([]);

    const service = path.join(dir, 'service');
    fs.mkdirSync(service);
    fs.writeFileSync(path.join(service, 'package.json'), JSON.stringify({ name: 'service', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', path.join(dir, packed!.filename), '@openfeature/server-sdk@1'], {
      cwd: service,
      stdio: 'pipe',
    });
    fs.writeFileSync(
      path.join(service, 'check.mjs'),
      `import { OpenFeature } from '@openfeature/server-sdk';
import { SwitchyardProvider } from 'switchyard/sdk';
const [baseUrl, token, ...users] = process.argv.slice(2);
await OpenFeature.setProviderAndWait(new SwitchyardProvider({ baseUrl, service: 'web', token }));
const flags = OpenFeature.getClient();
const out = [];
for (const u of users) {
  const d = await flags.getStringDetails('sdk_pack_flag', 'code-default', { targetingKey: u });
  out.push({ value: d.value, variant: d.variant });
}
console.log(JSON.stringify(out));
await OpenFeature.close();
`,
    );

    const owner = await s.token({ name: 'olivia', role: 'owner', team: 'growth' });
    expect((await owner.post('/v1/intents', simpleIntent('sdk-pack', { exposure: 50 }))).body.state).toBe('running');
    const svc = await s.token({ name: 'web-svc', role: 'service', service: 'web' });
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    // Not execFileSync: the server runs in this process and must keep answering meanwhile.
    const run = await promisify(execFile)('node', ['check.mjs', s.base, svc.secret, ...users], { cwd: service, encoding: 'utf8' });
    const answers = JSON.parse(run.stdout) as { value: string; variant?: string }[];

    const expected = [];
    for (const u of users) {
      const r = await svc.post('/v1/services/web/ofrep/v1/evaluate/flags/sdk_pack_flag', { context: { targetingKey: u } });
      expected.push({ value: r.body.value, variant: r.body.variant });
    }
    expect(answers).toEqual(expected);
    // Both arms and the unexposed default are reached, so agreement is not agreement on one answer.
    expect(new Set(answers.map((a) => a.value))).toEqual(new Set(['on', 'off']));
  }, 120_000); // npm pack + npm install; a budget for a loaded runner, not an assertion
});

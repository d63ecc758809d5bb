import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { CLI_JS, ensureCliBuilt } from './cli-process.js';

/**
 * The CLI's types come from the route declarations (src/cli/api-types.ts), as type imports only:
 * at run time `switchyard` loads neither express nor any module of src/http. A module loader hook
 * reports every module the process resolves; the same hook on the server's entry proves it sees them.
 */
describe('the CLI does not load the HTTP layer (the built binary)', () => {
  let s: TestServer;
  let dir: string;
  let hook: string;

  beforeAll(async () => {
    await ensureCliBuilt();
    s = await startServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cli-modules-'));
    const loader = path.join(dir, 'loader.mjs');
    fs.writeFileSync(loader, "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(`RESOLVED ${r.url}\\n`); return r; }\n");
    hook = path.join(dir, 'hook.mjs');
    fs.writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(loader).href)});\n`);
  });
  afterAll(async () => {
    await s?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Every module URL `node <entry> ...args` resolves. */
  const resolved = async (entry: string, args: string[], env: Record<string, string> = {}): Promise<string[]> => {
    const run = promisify(execFile)(process.execPath, ['--import', hook, entry, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    const { stderr } = await run.catch((err: { stderr?: string }) => ({ stderr: err.stderr ?? '' }));
    return [...stderr.matchAll(/^RESOLVED (\S+)$/gm)].map((m) => m[1]!);
  };
  const serverSide = (urls: string[]) => urls.filter((u) => /\/dist\/src\/http\/|\/node_modules\/express\//.test(u));

  it('the hook sees the HTTP layer when the server is loaded', async () => {
    const entry = path.join(dir, 'load-app.mjs');
    fs.writeFileSync(entry, `import ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src/app.js')).href)};\n`);
    const urls = serverSide(await resolved(entry, []));
    expect(urls.some((u) => u.includes('/dist/src/http/'))).toBe(true);
    expect(urls.some((u) => u.includes('/node_modules/express/'))).toBe(true);
  });

  it('`switchyard --help` and `switchyard intent list` load no module of src/http and not express', async () => {
    const token = (await s.token({ name: 'alice', role: 'owner', team: 'growth' })).secret;
    const help = await resolved(CLI_JS, ['--help']);
    expect(help.some((u) => u.includes('/dist/src/cli/commands/intent-commands.js')), 'the CLI ran under the hook').toBe(true);
    expect(serverSide(help)).toEqual([]);
    const list = await resolved(CLI_JS, ['intent', 'list', '--url', s.base, '--token', token]);
    expect(list.some((u) => u.includes('/dist/src/cli/api-client.js'))).toBe(true);
    expect(serverSide(list)).toEqual([]);
  });
});

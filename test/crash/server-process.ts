import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLE_PATH, ROOT } from '../helpers/paths.js';
import { newestSourceMtime } from '../helpers/sources.js';

export const MAIN_JS = path.join(ROOT, 'dist/src/main.js');


/**
 * The crash test runs the compiled server, as production does. `make test` does not build dist/,
 * so rebuild it here when it is missing or older than any source file.
 */
export function ensureBuilt(): void {
  const built = fs.existsSync(MAIN_JS) ? fs.statSync(MAIN_JS).mtimeMs : 0;
  if (built >= newestSourceMtime(path.join(ROOT, 'src'))) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
}

export interface ServerProcess {
  base: string;
  pid: number;
  child: ChildProcess;
  /** The last few KiB of stdout and stderr, for failure messages. */
  output(): string;
  /** SIGKILL: no drain, no close, no checkpoint. Resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM: the clean path; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts dist/src/main.js on `dbPath` (port 0: the OS picks) and waits until it is listening. */
export async function startServerProcess(dbPath: string, adminToken: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      // No flagd sync port unless a test asks for one: parallel servers would all want 8081.
      SWITCHYARD_SYNC_PORT: '0',
      HOST: '127.0.0.1',
      SWITCHYARD_DB: dbPath,
      SWITCHYARD_BOOTSTRAP_TOKEN: adminToken,
      SWITCHYARD_POLICY_BUNDLE: BUNDLE_PATH,
      SWITCHYARD_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + String(c)).slice(-8192);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
  return {
    base,
    pid: child.pid!,
    child,
    output: () => out,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

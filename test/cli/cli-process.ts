import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/paths.js';
import { newestSourceMtime } from '../helpers/sources.js';

export const CLI_JS = path.join(ROOT, 'dist/src/cli/main.js');


const builtAt = () => (fs.existsSync(CLI_JS) ? fs.statSync(CLI_JS).mtimeMs : 0);

/**
 * The tests run the built binary, as a user does. When dist/ is older than src/, build it, once:
 * a lock folder keeps parallel test files from running tsc over each other. tsc's exit status is
 * not trusted alone: a type error elsewhere in the tree still emits the CLI, so what counts is
 * that the binary is now newer than every source file.
 */
export async function ensureCliBuilt(): Promise<void> {
  const sources = newestSourceMtime(path.join(ROOT, 'src'));
  if (builtAt() >= sources) return;
  const lock = path.join(ROOT, 'dist', '.cli-build-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; wait for it, unless the lock is stale (a killed run).
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000) fs.rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
      if (builtAt() >= sources) return;
    }
  }
  try {
    if (builtAt() >= sources) return;
    let output = '';
    try {
      await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    if (builtAt() < sources) throw new Error(`building dist/ did not produce a fresh ${CLI_JS}:\n${output}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
}

/**
 * Runs `node dist/src/cli/main.js ...args` as a child process, asynchronously: the server under
 * test lives in this process and must keep answering while the CLI waits for it. The environment
 * is built from scratch (PATH, a temp HOME) so the developer's own SWITCHYARD_* or config file
 * never leak in.
 */
export function cli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: emptyHome() };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

let home: string | undefined;
/** A HOME without a config file, shared by the runs that do not set one. */
export function emptyHome(): string {
  home ??= fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cli-home-'));
  return home;
}

/** A temp folder with files in it. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cli-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/**
 * Running the opa binary for `policy test` and `policy build`, the same way `make policies` does, so
 * a policy author without make (or on a machine with only the CLI) gets the same bundle.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CliError, ExitCode } from './exit-codes.js';

export const PINNED_OPA = path.join('.tools', 'opa-v1.22.3', 'opa');
export const ENTRYPOINT = 'switchyard/decision';
export const DEFAULT_BUNDLE = path.join('build', 'policy', 'bundle.tar.gz');
export const DEFAULT_CAPABILITIES = path.join('build-support', 'opa-capabilities.json');

/** `--opa`, then SWITCHYARD_OPA, then the pinned binary `make` installs, then `opa` on PATH. */
export function locateOpa(flag: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  if (flag) return flag;
  if (env['SWITCHYARD_OPA']) return env['SWITCHYARD_OPA'];
  const pinned = path.resolve(cwd, PINNED_OPA);
  return fs.existsSync(pinned) ? pinned : 'opa';
}

/** Runs opa with the CLI's own stdout and stderr; resolves with its exit status. */
export function runOpa(opa: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(opa, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        new CliError(
          ExitCode.apiError,
          err.code === 'ENOENT'
            ? `cannot run opa (${opa}): not found; pass --opa PATH, set SWITCHYARD_OPA, or run \`make opa\` to install ${PINNED_OPA}`
            : `cannot run opa (${opa}): ${err.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * The manifest revision `make policies` stamps: the first 16 hex digits of the SHA-256 of every
 * non-test file under the policy folder, concatenated in byte order of their paths. The same
 * sources always build the same revision, whichever tool built them.
 */
export function sourceRevision(dir: string): string {
  const files = listFiles(dir)
    .filter((f) => !f.endsWith('_test.rego'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

export interface BuildOptions {
  dir: string;
  output: string;
  capabilities: string | undefined;
  revision: string;
}

export function buildArgs(o: BuildOptions): string[] {
  return [
    'build',
    '-t',
    'wasm',
    '-e',
    ENTRYPOINT,
    ...(o.capabilities ? ['--capabilities', o.capabilities] : []),
    '--revision',
    o.revision,
    '--ignore',
    '*_test.rego',
    '-o',
    o.output,
    o.dir,
  ];
}

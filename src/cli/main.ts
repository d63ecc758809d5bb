#!/usr/bin/env node
/** The `switchyard` command (package.json "bin"). Everything but the process wiring is in program.ts. */
import fs from 'node:fs';
import { runCli } from './program.js';

function version(): string {
  try {
    // dist/src/cli/main.js → the package root, three levels up.
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// `switchyard audit --json | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  version: version(),
});
// Let stdout drain (a pipe may be slow) rather than cutting it off with process.exit.
process.exitCode = code;

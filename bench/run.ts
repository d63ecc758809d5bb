import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decisionBench } from './decisions.js';
import { submissionBench } from './intents.js';
import { ROOT, table, type Row } from './lib.js';

/**
 * `make bench`: every benchmark in one run on this machine, one table, and the same rows as JSON
 * under bench/results/. BENCH_SECONDS shortens or lengthens the load phases.
 */
async function main(): Promise<void> {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
  const rows: Row[] = [];
  const sections: [string, () => Promise<Row[]>][] = [
    ['decisions', () => decisionBench()],
    ['intents', () => submissionBench(18_101, seconds)],
  ];
  for (const [name, run] of sections) {
    process.stderr.write(`bench: ${name}…\n`);
    rows.push(...(await run()));
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()}`;
  const out = `Machine: ${machine}\n\n${table(rows)}\n`;
  process.stdout.write(out);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), machine, rows }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decisionBench } from './decisions.js';
import { fetchBench, flagFixture, localBench, ofrepBench } from './flags.js';
import { PINNING, ratio, ROOT, table, usePinning, type Row } from './lib.js';
import { experimentScaling, flagScaling, oneLayerScaling } from './scaling.js';
import { engineBench, instanceBench } from './engines.js';
import { storageBench } from './storage.js';
import { telemetryBench } from './telemetry.js';

/**
 * `make bench`: every benchmark in one run on this machine, ours beside its peer on the same work,
 * one table, and the same rows as JSON in bench/results/latest.json. BENCH_SECONDS sets the length
 * of each load phase (default 5); BENCH_ONLY=decisions,flags,scaling,storage,telemetry,instances runs a subset, written to
 * bench/results/only-<sections>.json instead.
 */
async function main(): Promise<void> {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
  const only = process.env['BENCH_ONLY']?.split(',');
  const sections: [string, () => Promise<Row[]>][] = [
    ['decisions', () => decisionBench({ ours: 18_101, opa: 18_181 }, seconds)],
    [
      'flags',
      async () => {
        const fixture = await flagFixture(18_102);
        try {
          return [...(await ofrepBench(fixture, { flagd: 18_110, core: 18_103, quiet: 18_104 }, seconds)), ...(await fetchBench(fixture, seconds)), ...(await localBench(fixture))];
        } finally {
          await fixture.server.stop();
        }
      },
    ],
    ['scaling', async () => [...(await experimentScaling(18_104, seconds)), ...(await oneLayerScaling()), ...(await flagScaling(18_105, seconds))]],
    ['storage', async () => [...(await storageBench(18_120)), ...(await engineBench({ sqlite: 18_121, postgres: 18_122 }, seconds))]],
    ['telemetry', () => telemetryBench(18_130)],
    ['instances', () => instanceBench({ base: 18_140, flagd: 18_160 }, seconds)],
  ];
  const rows: Row[] = [];
  usePinning();
  if (!PINNING.on) process.stderr.write(`bench: ${PINNING.note}\n`);
  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  for (const [name, run] of sections) {
    if (only && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}…\n`);
    rows.push(...(await run()));
  }
  const cpus = os.cpus();
  const machine = `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  // The 1-minute load average before and after: other work on the machine shows up in every row.
  const took = `${Math.round((Date.now() - started) / 1000)} s, BENCH_SECONDS=${seconds}, load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}; ${PINNING.note}`;
  const legend = 'ratio: how many times better ours is than the peer (throughput ours/peer, times peer/ours); >1× means ours is ahead. Figures are the median round, (lowest–highest round) beside it';
  process.stdout.write(`Machine: ${machine} (${took})\n${legend}\n\n${table(rows)}\n`);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const json = { at: new Date().toISOString(), machine, took, rows: rows.map((r) => ({ ...r, ...(r.peer ? { ratio: ratio(r) } : {}) })) };
  // A partial run (BENCH_ONLY) must not replace the full run docs/benchmarks.md quotes.
  const name = only ? `only-${only.join('-')}.json` : 'latest.json';
  fs.writeFileSync(path.join(dir, name), JSON.stringify(json, null, 2) + '\n');
}

// Exit once the table is written: the in-process sections leave their containers (policy sandbox
// worker, SQLite handles) to the end of the process rather than closing each one.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

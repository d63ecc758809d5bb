import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/**
 * What durability costs on this machine: N single-row write transactions (BEGIN IMMEDIATE, INSERT,
 * COMMIT, as the server's Transactor does) under each journal/synchronous setting, on a fresh file
 * in DURABILITY_DIR (default: the OS temp dir; put it on the disk the database lives on).
 * Prints commits/s and commit latency; docs/durability.md quotes the result.
 *
 *   node dist/bench/durability.js            # DURABILITY_N=2000 transactions per setting
 */

interface Setting {
  name: string;
  journal: 'WAL' | 'DELETE';
  synchronous: 'FULL' | 'NORMAL' | 'OFF';
  foreignKeys?: boolean;
  rowsPerTx?: number;
}

const SETTINGS: Setting[] = [
  { name: 'WAL, synchronous=FULL (ours)', journal: 'WAL', synchronous: 'FULL', foreignKeys: true },
  { name: 'WAL, synchronous=NORMAL', journal: 'WAL', synchronous: 'NORMAL', foreignKeys: true },
  { name: 'WAL, synchronous=OFF', journal: 'WAL', synchronous: 'OFF', foreignKeys: true },
  { name: 'rollback journal (DELETE), synchronous=FULL', journal: 'DELETE', synchronous: 'FULL', foreignKeys: true },
  { name: 'WAL, FULL, 20 rows per transaction', journal: 'WAL', synchronous: 'FULL', foreignKeys: true, rowsPerTx: 20 },
  // Foreign keys cost CPU, not I/O: compare them where no fsync hides the difference.
  { name: 'WAL, OFF, foreign_keys=OFF', journal: 'WAL', synchronous: 'OFF', foreignKeys: false },
];

interface Result {
  setting: Setting;
  commitsPerSec: number;
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const PAYLOAD = 'x'.repeat(1024); // about one flags document

function run(dir: string, s: Setting, n: number, pass: number): Result {
  const file = path.join(dir, `${s.journal}-${s.synchronous}-${s.foreignKeys ? 'fk' : 'nofk'}-${s.rowsPerTx ?? 1}-${pass}.db`);
  const db = new BetterSqlite3(file);
  try {
    db.pragma(`journal_mode = ${s.journal}`);
    db.pragma(`synchronous = ${s.synchronous}`);
    db.pragma(`foreign_keys = ${s.foreignKeys ? 'ON' : 'OFF'}`);
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
             INSERT INTO parent (id) VALUES (1);
             CREATE TABLE child (seq INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER NOT NULL REFERENCES parent (id), body TEXT NOT NULL)`);
    const insert = db.prepare('INSERT INTO child (parent, body) VALUES (1, ?)');
    const rows = s.rowsPerTx ?? 1;
    const tx = db.transaction((k: number) => {
      for (let i = 0; i < rows; i++) insert.run(`${k}:${PAYLOAD}`);
    });
    for (let i = 0; i < 50; i++) tx.immediate(i); // warm-up
    const lat: number[] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const a = process.hrtime.bigint();
      tx.immediate(i);
      lat.push(Number(process.hrtime.bigint() - a) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    lat.sort((x, y) => x - y);
    return {
      setting: s,
      commitsPerSec: n / seconds,
      rowsPerSec: (n * rows) / seconds,
      p50Ms: lat[Math.floor(n * 0.5)]!,
      p99Ms: lat[Math.min(n - 1, Math.floor(n * 0.99))]!,
    };
  } finally {
    db.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const n = Number(process.env['DURABILITY_N'] ?? 2000);
  const passes = Number(process.env['DURABILITY_PASSES'] ?? 3);
  const base = process.env['DURABILITY_DIR'] ?? os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'switchyard-durability-'));
  try {
    // Passes are interleaved (every setting once, then again) so that a noisy neighbour or a slow
    // moment of the disk does not land on one setting only; the table shows the median pass.
    const runs = SETTINGS.map(() => [] as Result[]);
    for (let pass = 0; pass < passes; pass++) {
      SETTINGS.forEach((s, i) => {
        process.stderr.write(`durability: pass ${pass + 1}/${passes}, ${s.name}…\n`);
        runs[i]!.push(run(dir, s, n, pass));
      });
    }
    const fmt = (v: number, d = 0) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
    const rows = runs.map((rs) => ({
      setting: rs[0]!.setting,
      commits: median(rs.map((r) => r.commitsPerSec)),
      low: Math.min(...rs.map((r) => r.commitsPerSec)),
      high: Math.max(...rs.map((r) => r.commitsPerSec)),
      rows: median(rs.map((r) => r.rowsPerSec)),
      p50: median(rs.map((r) => r.p50Ms)),
      p99: median(rs.map((r) => r.p99Ms)),
    }));
    const ours = rows[0]!.commits;
    const lines = [
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${os.platform()}, load average ${os.loadavg()[0]!.toFixed(1)}; ` +
        `${n} transactions per setting and pass, median of ${passes} interleaved passes, files in ${base}`,
      '',
      '| setting | commits/s (median) | range over passes | rows/s | commit p50 | commit p99 | vs ours |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.setting.name} | ${fmt(r.commits)} | ${fmt(r.low)}–${fmt(r.high)} | ${fmt(r.rows)} | ${fmt(r.p50, 3)} ms | ${fmt(r.p99, 3)} ms | ${(r.commits / ours).toFixed(1)}× |`,
      ),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();

/**
 * Database growth per 1,000 flag changes (the "one owner token grew the database by 406 MB
 * in 5.5 s"): the built server on a fresh file, experiments running on one service, then pause /
 * resume of one of them, each a new version of that service's document. The size is the main file
 * plus the WAL after a TRUNCATE checkpoint, taken after a warm-up longer than the retention window
 * (so pruning is in its steady state) and again after the measured changes.
 *
 * Two document sizes (realistic small values; 20 variants of 8 KB in each experiment), each with
 * history kept whole (SWITCHYARD_FLAG_HISTORY_VERSIONS at its maximum: the old behaviour) and with
 * the default retention of 100 older versions. What still grows with retention is per change and
 * independent of the document: the change-feed row and the audit event.
 */
import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { ADMIN, api, startServer, type Row } from './lib.js';

const WARMUP = 150;

interface Profile {
  name: string;
  experiments: number;
  value: (i: number, v: number) => unknown;
  variants: number;
}

const PROFILES: Profile[] = [
  { name: '5 experiments, small values', experiments: 5, variants: 2, value: (_i, v) => v === 1 },
  { name: '3 experiments, 20 variants × 8 KB', experiments: 3, variants: 20, value: (i, v) => `${i}-${v}-`.padEnd(8000, 'x') },
];

function fileBytes(dbPath: string): number {
  const db = new BetterSqlite3(dbPath);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const size = (p: string) => (fs.existsSync(p) ? fs.statSync(p).size : 0);
  return size(dbPath) + size(`${dbPath}-wal`);
}

async function growth(port: number, profile: Profile, history: number, changes: number): Promise<{ perThousand: number; docBytes: number }> {
  const server = await startServer(port, { env: { SWITCHYARD_FLAG_HISTORY_VERSIONS: String(history), SWITCHYARD_LOG_LEVEL: 'warn' } });
  try {
    for (let i = 0; i < profile.experiments; i++) {
      await api(server.base, ADMIN, 'POST', '/v1/intents', {
        key: `grow-${i}`,
        owner: 'growth',
        services: [{ service: 'web', flag: `grow_${i}` }],
        variants: Array.from({ length: profile.variants }, (_, v) => ({ key: `v${v}`, weight: 1, value: profile.value(i, v) })),
        exposure: 5,
      });
    }
    const docBytes = Buffer.byteLength(JSON.stringify(await api(server.base, ADMIN, 'GET', '/v1/services/web/flags')));
    const change = async (n: number) => {
      for (let c = 0; c < n; c++) {
        const action = c % 2 === 0 ? 'pause' : 'resume';
        await api(server.base, ADMIN, 'POST', '/v1/intents/grow-0/actions', { action, reason: 'bench' });
      }
    };
    await change(WARMUP);
    const before = fileBytes(server.dbPath);
    await change(changes);
    const after = fileBytes(server.dbPath);
    return { perThousand: ((after - before) / changes) * 1000, docBytes };
  } finally {
    await server.stop();
  }
}

export async function storageBench(port: number): Promise<Row[]> {
  const rows: Row[] = [];
  const changes = Number(process.env['BENCH_STORAGE_CHANGES'] ?? 1000);
  for (const profile of PROFILES) {
    const kept = await growth(port, profile, 1_000_000, changes);
    const pruned = await growth(port, profile, 100, changes);
    const doc = `${(pruned.docBytes / 1024).toFixed(1)} KiB document`;
    rows.push({
      section: 'storage',
      name: `pause/resume, ${profile.name}`,
      metric: 'DB growth per 1,000 changes',
      value: pruned.perThousand / 2 ** 20,
      unit: 'MiB',
      peer: { name: 'history kept whole', value: kept.perThousand / 2 ** 20 },
      note: `${doc}; retention 100 versions; ${changes} changes after ${WARMUP} of warm-up; file + WAL after checkpoint`,
    });
  }
  return rows;
}

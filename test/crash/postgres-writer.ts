/**
 * A writer process for test/crash/postgres-kill.test.ts: `WORKERS` loops of units of work on
 * PostgreSQL, each unit appending one chained audit event and TOKENS_PER_UNIT tokens (two tables,
 * one transaction); after each COMMIT resolves it prints `ack <n>` on stdout. The test SIGKILLs it.
 * Run with tsx: node --import tsx test/crash/postgres-writer.ts <url> <round> <workers> <tokens per unit>
 */
import { openPostgresStorage } from '../../src/storage/postgres/postgres-storage.js';

const [url, round, workersArg, tokensArg] = process.argv.slice(2);
if (!url || !round) throw new Error('usage: postgres-writer.ts <url> <round> [workers] [tokens per unit]');
const workers = Number(workersArg ?? 4);
const TOKENS_PER_UNIT = Number(tokensArg ?? 10);
const storage = await openPostgresStorage({ url });
let next = 0;

async function loop(): Promise<void> {
  for (;;) {
    const n = `${round}-${next++}`;
    await storage.tx.run(async (u) => {
      const last = await u.audit.last();
      await u.audit.insert({ id: `e${n}`, type: 'crash', experiment: null, version: null, service: null, actor: 'writer', at: new Date().toISOString(), data: { n }, prevHash: last?.hash ?? 'genesis', hash: `h${n}` });
      // Several statements per unit, so that a kill lands inside units, between their statements.
      for (let k = 0; k < TOKENS_PER_UNIT; k++) {
        await u.tokens.insert({ id: `t${n}/${k}`, name: 'w', role: 'admin', team: null, approvalRoles: [], service: null, createdAt: new Date().toISOString(), createdBy: null }, `hash${n}/${k}`);
      }
    });
    process.stdout.write(`ack ${n}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: workers }, loop));

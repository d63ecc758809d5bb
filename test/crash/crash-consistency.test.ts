import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer as startInProcess } from '../helpers/harness.js';
import { FileChecker, type FileSummary } from './invariants.js';
import { ensureBuilt, startServerProcess, type ServerProcess } from './server-process.js';
import {
  ACTORS,
  applyAnswer,
  call,
  int,
  Ledger,
  prng,
  SERVICES,
  submit,
  worker,
  type KeyEntry,
  type RoundContext,
  type Tokens,
} from './workload.js';

/**
 * The real server (dist/src/main.js) on a file database, under 8 concurrent HTTP workers, killed
 * with SIGKILL at a random moment of every round and restarted on the same file. After each kill
 * the file is read as the next start will find it; after each restart the API is asked too. See
 * docs/durability.md for the settings this relies on.
 *
 * CRASH_SEED pins the random choices (operations, kill times); CRASH_ROUNDS sets the rounds.
 */

const ADMIN = 'sy_crash_admin_token_0123456789abcdef';
const SEED = Number(process.env['CRASH_SEED'] ?? 20261125);
const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? 18);
const WORKERS = 8;
const SERVER_ENV = { SWITCHYARD_SCHEDULER_INTERVAL_MS: '100' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  rounds: number;
  seconds: number;
  summaries: FileSummary[];
  sentinelsStartedAcrossRestart: number;
  scheduledStarted: number;
  auditVerified: number;
  cleanExit: number | null;
}

describe('crash consistency: SIGKILL at random moments, restart on the same file', () => {
  let dir: string | undefined;
  const ledger = new Ledger();
  const outcome: Outcome = { rounds: 0, seconds: 0, summaries: [], sentinelsStartedAcrossRestart: 0, scheduledStarted: 0, auditVerified: 0, cleanExit: null };
  let server: ServerProcess | undefined;

  const of = (category: string) => ledger.violations.filter((v) => v.startsWith(`[${category}]`));

  beforeAll(async () => {
    ensureBuilt();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-crash-'));
    const dbPath = path.join(dir, 'crash.db');
    const t0 = Date.now();
    const rng = prng(SEED);
    const checker = new FileChecker(dbPath);

    server = await startServerProcess(dbPath, ADMIN, SERVER_ENV);
    const tokens = await createTokens(server.base);
    let summary: FileSummary | undefined;

    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1) {
        server = await startServerProcess(dbPath, ADMIN, SERVER_ENV);
        await afterRestart(server.base, tokens, ledger, round, summary!, outcome);
      }
      const ctx: RoundContext = { base: server.base, round, rng, ledger, tokens, killing: false };
      const loadMs = int(rng, 250, 1500);
      const killAt = Date.now() + loadMs;
      // The sentinel starts while the server is down: only the scheduler's catch-up can start it.
      const sentinel = submit(ctx, 99, 0, 'scheduled', killAt + 150, true);
      const workers = Array.from({ length: WORKERS }, (_, i) => worker(ctx, i));
      await sleep(loadMs); // the random moment of the kill: nothing to await, that is the point
      ctx.killing = true;
      await server.kill9();
      await Promise.all([sentinel.catch(() => undefined), ...workers]);
      summary = checker.check(ledger, round);
      outcome.summaries.push(summary);
      outcome.rounds = round;
    }

    // One last start: the state after the last kill is served, then a clean stop closes the file.
    server = await startServerProcess(dbPath, ADMIN, SERVER_ENV);
    await afterRestart(server.base, tokens, ledger, ROUNDS + 1, summary!, outcome);
    outcome.cleanExit = await server.stop();
    server = undefined;
    checker.check(ledger, ROUNDS + 1);
    outcome.seconds = (Date.now() - t0) / 1000;

    const last = outcome.summaries[outcome.summaries.length - 1]!;
    console.log(
      [
        `crash test: seed ${SEED}, ${outcome.rounds} kills in ${outcome.seconds.toFixed(1)} s`,
        `  file after the last kill: ${last.experiments} experiments (${JSON.stringify(last.byState)}), ${last.versions} versions, ${last.auditEvents} audit events`,
        `  flags versions: ${JSON.stringify(Object.fromEntries(last.flagsMax))}`,
        `  scheduled intents started: ${outcome.scheduledStarted} (${outcome.sentinelsStartedAcrossRestart} whose start fell while the server was down)`,
        ...[...ledger.counts].sort().map(([k, n]) => `  ${k}: ${n}`),
        ...(ledger.violations.length ? ['  violations:', ...ledger.violations.slice(0, 40).map((v) => `    ${v}`)] : []),
      ].join('\n'),
    );
  }, 150_000);

  afterAll(async () => {
    await server?.kill9();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ran at least 15 kill/restart rounds under real load (the time taken is printed above, not asserted)', () => {
    expect(outcome.rounds).toBeGreaterThanOrEqual(Math.min(15, ROUNDS));
    const answered = [...ledger.all()].reduce((n, e) => n + e.ackedVersions.size + e.ackedApprovals.length, 0);
    expect(answered).toBeGreaterThan(100);
    expect(ledger.counts.get('in doubt: submit') ?? 0).toBeGreaterThan(0);
  });

  it('keeps every write that was answered 2xx, and changes nothing that was not asked for', () => {
    expect(of('acked')).toEqual([]);
  });

  it('never shows a half-written change: versions have decisions, flags match approved running versions', () => {
    expect(of('half-written')).toEqual([]);
  });

  it('only grows each service\'s flags version, and keeps every document and event a client was served', () => {
    expect(of('flags-versions')).toEqual([]);
  });

  it('keeps the audit hash chain verifiable after every restart', () => {
    expect(of('audit')).toEqual([]);
    expect(outcome.auditVerified).toBe(ROUNDS);
  });

  it('resumes the scheduler: a start that fell while the server was down is applied once after the restart', () => {
    expect(of('scheduler')).toEqual([]);
    expect(outcome.sentinelsStartedAcrossRestart).toBeGreaterThanOrEqual(Math.min(10, ROUNDS - 2));
  });

  it('answers every request while up (no 5xx, no dropped connection) and exits 0 on SIGTERM', () => {
    expect(of('server')).toEqual([]);
    expect(outcome.cleanExit).toBe(0);
  });

  it('replays, not re-runs, a write retried with its Idempotency-Key after the crash', () => {
    expect(of('idempotency')).toEqual([]);
  });
});

/**
 * The window the crash test above finds at random, made deterministic: the write's transaction has
 * committed and the process dies before the idempotency middleware stores the answer (a second
 * commit). The client saw no answer and retries with the same key; it must not get a second version.
 */
describe('Idempotency-Key when the process dies between the write and its stored answer', () => {
  it('a retried PUT leaves exactly one new version', async () => {
    const s = await startInProcess();
    try {
      const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
      expect((await owner.post('/v1/intents', simpleIntent('idem-crash'))).status).toBe(201);
      const change = () => owner.put('/v1/intents/idem-crash', simpleIntent('idem-crash', { exposure: 20 }), { 'Idempotency-Key': 'put-1' });
      const store = s.container.sqlite.writer.idempotency;
      const put = store.put.bind(store);
      store.put = () => {
        store.put = put;
        throw new Error('the process died here'); // as SIGKILL would, after the write committed
      };
      const first = await change();
      expect(first.status).not.toBe(200); // no answer reached the client
      await change(); // the client's retry, same key, same body
      const versions = (await s.api.get('/v1/intents/idem-crash')).body.versions.map((v: { version: number }) => v.version);
      expect(versions).toEqual([1, 2]);
    } finally {
      await s.close();
    }
  });
});

async function createTokens(base: string): Promise<Tokens> {
  const make = async (spec: Record<string, unknown>) => {
    const ans = await call(base, ADMIN, 'POST', '/v1/tokens', spec);
    if (ans.status !== 201) throw new Error(`token ${JSON.stringify(spec)}: ${ans.status} ${JSON.stringify(ans.body)}`);
    return ans.body.token as string;
  };
  return {
    admin: ADMIN,
    owner: await make({ name: ACTORS.owner, role: 'owner', team: 'growth' }),
    sre: await make({ name: ACTORS.sre, role: 'approver', approval_roles: ['sre'] }),
    privacy: await make({ name: ACTORS.privacy, role: 'approver', approval_roles: ['privacy'] }),
    operator: await make({ name: ACTORS.operator, role: 'operator' }),
  };
}

/** The checks a client can make right after the restart, then the retries of what was in doubt. */
async function afterRestart(base: string, tokens: Tokens, ledger: Ledger, round: number, file: FileSummary, outcome: Outcome): Promise<void> {
  const readyAt = Date.now();
  const v = (category: string, message: string) => ledger.violation(category, `after restart ${round - 1}: ${message}`);
  const get = (url: string) => call(base, tokens.admin, 'GET', url);

  const verify = await get('/v1/audit/verify');
  if (verify.status !== 200 || verify.body.ok !== true) v('audit', `GET /v1/audit/verify: ${verify.status} ${JSON.stringify(verify.body)}`);
  else if (verify.body.events < file.auditEvents) v('audit', `the chain has ${verify.body.events} events, the file had ${file.auditEvents}`);
  else outcome.auditVerified++;

  // Each service is served at least the version the file had; the feed resumes from the cursor with no gap.
  const served = new Map<string, number>();
  for (const service of SERVICES) {
    const ans = await get(`/v1/services/${service}/flags`);
    served.set(service, ans.body.version);
    if (ans.body.version < (file.flagsMax.get(service) ?? 0)) v('flags-versions', `${service} is served v${ans.body.version}, the file had v${file.flagsMax.get(service)}`);
  }
  for (;;) {
    const ans = await get(`/v1/events?after=${ledger.eventsCursor}&limit=1000`);
    const events = ans.body.events as { id: number; service: string; version: number; etag: string }[];
    if (events.length === 0) break;
    for (const e of events) {
      const prev = ledger.lastEventVersion.get(e.service) ?? 0;
      if (e.id <= ledger.eventsCursor || e.version !== prev + 1) v('flags-versions', `feed after ${ledger.eventsCursor}: event ${e.id} ${e.service} v${e.version} follows v${prev}`);
      ledger.servedEvents.push(e);
      ledger.eventsCursor = Math.max(ledger.eventsCursor, e.id);
      ledger.lastEventVersion.set(e.service, e.version);
    }
  }
  for (const [service, version] of served) {
    if ((ledger.lastEventVersion.get(service) ?? 0) < version) v('flags-versions', `${service} is served v${version} but the feed ends at v${ledger.lastEventVersion.get(service) ?? 0}`);
  }

  // What the last answers said is what the API shows now (in-doubt writes may or may not be there).
  const touched = ledger.all().filter((e) => e.touched);
  await Promise.all(touched.map((e) => checkEntry(e)));
  async function checkEntry(e: KeyEntry): Promise<void> {
    const ans = await get(`/v1/intents/${e.key}`);
    if (e.baseline === null) return;
    if (ans.status !== 200) return v('acked', `${e.key} was answered 2xx, GET says ${ans.status}`);
    const b = ans.body;
    for (const [version, decisionId] of e.ackedVersions) {
      const found = (b.versions as { version: number; decision_id: string }[]).find((x) => x.version === version);
      if (found?.decision_id !== decisionId) v('acked', `${e.key} v${version} was answered with ${decisionId}, GET shows ${found?.decision_id ?? 'no such version'}`);
    }
    for (const a of e.ackedApprovals) {
      if (a.version === b.version && !(b.approvals as { actor: string }[]).some((x) => x.actor === a.actor)) v('acked', `${e.key} v${a.version}: approval by ${a.actor} is not shown`);
    }
    const writesInDoubt = e.doubt.filter((a) => a.op === 'put').length;
    if (e.doubt.length === 0) {
      const states = e.kind === 'scheduled' ? [e.baseline.state, 'running'] : [e.baseline.state];
      if (b.version !== e.baseline.version || b.status !== e.baseline.status || !states.includes(b.state)) {
        v('acked', `${e.key}: last answer said v${e.baseline.version} ${e.baseline.status} ${e.baseline.state}, GET says v${b.version} ${b.status} ${b.state}`);
      }
    } else if (b.version < e.baseline.version || b.version > e.baseline.version + writesInDoubt) {
      v('acked', `${e.key}: last answer said v${e.baseline.version}, ${writesInDoubt} PUT in doubt, GET says v${b.version}`);
    }
  }

  // The scheduler: every scheduled intent whose start has passed is running, started exactly once.
  const due = ledger.all().filter((e) => e.kind === 'scheduled' && !e.startConfirmed && e.startMs! <= Date.now());
  await Promise.all(due.map((e) => confirmStart(e)));
  async function confirmStart(e: KeyEntry): Promise<void> {
    const deadline = Math.max(Date.now(), e.startMs!) + 3_000;
    let ans = await get(`/v1/intents/${e.key}`);
    if (ans.status === 404 && e.baseline === null) return; // never committed
    while (ans.body?.state !== 'running' && Date.now() < deadline) {
      await sleep(50);
      ans = await get(`/v1/intents/${e.key}`);
    }
    e.startConfirmed = true; // checked once, whatever the outcome
    if (ans.body?.state !== 'running') return v('scheduler', `${e.key} (start ${new Date(e.startMs!).toISOString()}) is ${ans.body?.state ?? ans.status} at ${new Date().toISOString()}`);
    const started = await get(`/v1/audit?experiment=${e.key}&type=started`);
    // The list is `events` (older builds called it `items`).
    const list = (started.body.events ?? started.body.items) as unknown[];
    if (list.length !== 1) v('scheduler', `${e.key} has ${list.length} started events`);
    outcome.scheduledStarted++;
    if (e.sentinel && e.startMs! < readyAt) outcome.sentinelsStartedAcrossRestart++;
  }

  // In-doubt writes retried with their Idempotency-Key: one that committed must come back as a replay.
  for (const e of ledger.all().filter((x) => x.doubt.length > 0)) {
    for (const a of e.doubt) {
      const ans = await call(base, a.token, a.method, a.url, a.body, { 'idempotency-key': a.idemKey });
      if (ans.replayed) ledger.count(`retry of ${a.op}: replayed`);
      else if (a.committed === true) {
        ledger.count(`retry of ${a.op}: committed before the kill, ran again`);
        v('idempotency', `${a.method} ${a.url} (Idempotency-Key ${a.idemKey}) had committed before the kill; the retry ran it again and got ${ans.status}${ans.body?.code ? ` ${ans.body.code}` : ''}${a.op === 'put' && ans.status === 200 ? ` (a duplicate version ${ans.body.intent.version})` : ''}`);
      } else ledger.count(`retry of ${a.op}: ${a.committed === false ? 'had not committed, ran now' : 'unknown, ran now'}`);
      if (ans.status >= 500) v('server', `retry ${a.method} ${a.url}: ${ans.status}`);
      if (ans.status >= 200 && ans.status < 300) applyAnswer(e, a, ans);
    }
    e.doubt = [];
    // Whatever the file holds now is durable (the restarted server read it): it is the new baseline.
    const now = await get(`/v1/intents/${e.key}`);
    if (now.status === 200) {
      e.baseline = { version: now.body.version, status: now.body.status, state: now.body.state };
      e.intent = now.body.intent;
    }
  }
  for (const e of ledger.all()) e.touched = false;
}

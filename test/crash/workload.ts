/**
 * The client side of the crash test: concurrent workers that submit, change, approve and act on
 * intents over HTTP, and a ledger of what the server acknowledged. A 2xx answer is a promise that
 * the write is durable; a request that got no answer (the server was killed) is "in doubt" and
 * may or may not have committed.
 */

import { prng, type Rng } from '../helpers/prng.js';

export { prng, type Rng };


export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

export const SERVICES = ['web', 'search', 'checkout-api', 'payments', 'recommendations', 'email-service'] as const;

/**
 * plain: standard/experimental services, approved at once and running.
 * critical: checkout-api, owes an sre approval. privacy: purchase_history, owes a privacy approval.
 * scheduled: approved at once, goes live at schedule.start (the real clock).
 */
export type Kind = 'plain' | 'critical' | 'privacy' | 'scheduled';
export type Action = 'pause' | 'resume' | 'rollback' | 'complete';

export interface Answer {
  status: number;
  body: any;
  replayed: boolean;
}

/** The request reached no answer: the server died (or dropped the connection) first. */
export class InDoubt extends Error {}

export async function call(
  base: string,
  token: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(base + url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    text = await res.text();
  } catch (err) {
    throw new InDoubt(`${method} ${url}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, replayed: res.headers.get('idempotent-replayed') === 'true' };
}

/** One write as sent, kept so it can be retried byte for byte with its Idempotency-Key. */
export interface Attempt {
  op: 'submit' | 'put' | 'approve' | 'action';
  key: string;
  method: string;
  url: string;
  body: Record<string, unknown>;
  token: string;
  idemKey: string;
  /** put: the description that marks this version; approve: the version it meant and who approves. */
  nonce?: string;
  targetVersion?: number;
  actor?: string;
  action?: Action;
  /** Filled by the database check after the kill: did the write commit although it got no answer? */
  committed?: boolean | undefined;
}

export interface Baseline {
  version: number;
  status: string;
  state: string;
}

export interface KeyEntry {
  key: string;
  kind: Kind;
  /** The body of the newest version sent, the base of the next PUT. */
  intent: Record<string, any>;
  busy: boolean;
  /** What the last 2xx answer (or the first read after a restart) said; null until one arrives. */
  baseline: Baseline | null;
  /** Writes since the baseline that got no answer. */
  doubt: Attempt[];
  ackedVersions: Map<number, string>;
  ackedApprovals: { version: number; actor: string; complete: boolean }[];
  ackedActions: Map<Action, number>;
  /** scheduled: schedule.start in epoch ms; sentinel: submitted so that the start falls while the server is down. */
  startMs?: number;
  sentinel?: boolean;
  startConfirmed?: boolean;
  /** Answered or attempted since the last restart: checked through HTTP after the next one. */
  touched: boolean;
}

export interface Tokens {
  admin: string;
  owner: string;
  sre: string;
  privacy: string;
  operator: string;
}

export const ACTORS = { owner: 'alice', sre: 'sam', privacy: 'pat', operator: 'oscar' } as const;

export class Ledger {
  readonly entries = new Map<string, KeyEntry>();
  private readonly keys: string[] = [];
  /** Flags documents some client was served: each must still exist, byte-identical, after any crash. */
  readonly servedFlags: { service: string; version: number; etag: string }[] = [];
  /** Event feed entries some client was served, and the feed cursor it holds. */
  readonly servedEvents: { id: number; service: string; version: number; etag: string }[] = [];
  eventsCursor = 0;
  readonly lastEventVersion = new Map<string, number>();
  /** Highest flags version per service known to be committed (seen by a client or in the file). */
  readonly flagsHigh = new Map<string, number>();
  readonly counts = new Map<string, number>();
  readonly violations: string[] = [];

  count(what: string, n = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }

  private readonly seen = new Set<string>();

  /** Records a broken invariant once: one that persists is not repeated by every later round. */
  violation(category: string, message: string): void {
    const what = `${category}\0${message.replace(/^(round|after restart) \d+: /, '')}`;
    if (this.seen.has(what)) return;
    this.seen.add(what);
    this.violations.push(`[${category}] ${message}`);
  }

  add(entry: Omit<KeyEntry, 'busy' | 'baseline' | 'doubt' | 'ackedVersions' | 'ackedApprovals' | 'ackedActions' | 'touched'>): KeyEntry {
    const e: KeyEntry = {
      ...entry,
      busy: true,
      baseline: null,
      doubt: [],
      ackedVersions: new Map(),
      ackedApprovals: [],
      ackedActions: new Map(),
      touched: true,
    };
    this.entries.set(e.key, e);
    this.keys.push(e.key);
    return e;
  }

  /** A random idle entry that matches, marked busy: one operation per key at a time keeps the model exact. */
  claim(rng: Rng, match: (e: KeyEntry) => boolean): KeyEntry | undefined {
    const candidates = this.keys.map((k) => this.entries.get(k)!).filter((e) => !e.busy && e.doubt.length === 0 && e.baseline && match(e));
    if (candidates.length === 0) return undefined;
    const e = pick(rng, candidates);
    e.busy = true;
    return e;
  }

  all(): KeyEntry[] {
    return this.keys.map((k) => this.entries.get(k)!);
  }
}

export interface IntentOptions {
  kind: Kind;
  key: string;
  rng: Rng;
  startMs?: number;
}

export function buildIntent({ kind, key, rng, startMs }: IntentOptions): Record<string, any> {
  const flag = (i: number) => `${key.replace(/-/g, '_')}_f${i}`;
  const base = {
    key,
    owner: 'growth',
    description: `crash test ${kind}`,
    variants: [
      { key: 'control', weight: 50, value: false },
      { key: 'treatment', weight: 50, value: true },
    ],
  };
  switch (kind) {
    case 'plain':
    case 'scheduled': {
      const pool = ['web', 'search', 'recommendations'];
      const n = int(rng, 1, 3);
      const services = pool.slice(0, n).map((service, i) => ({ service, flag: flag(i) }));
      const layered = kind === 'plain' && rng() < 0.3;
      return {
        ...base,
        services,
        exposure: layered ? int(rng, 10, 100) / 100 : int(rng, 1, 20),
        ...(layered ? { layer: pick(rng, ['crash-a', 'crash-b']) } : {}),
        ...(startMs !== undefined
          ? { schedule: { start: new Date(startMs).toISOString(), end: new Date(startMs + 3_600_000).toISOString() } }
          : {}),
      };
    }
    case 'critical':
      return {
        ...base,
        services: [
          { service: 'web', flag: flag(0) },
          { service: 'checkout-api', flag: flag(1) },
        ],
        exposure: int(rng, 1, 5),
      };
    case 'privacy':
      return {
        ...base,
        services: [{ service: 'recommendations', flag: flag(0) }],
        exposure: int(rng, 1, 30),
        data_access: ['purchase_history'],
      };
  }
}

export interface RoundContext {
  base: string;
  round: number;
  rng: Rng;
  ledger: Ledger;
  tokens: Tokens;
  /** Set just before SIGKILL: network errors after it are expected, before it they are not. */
  killing: boolean;
}

let attemptSeq = 0;
const idem = () => `crash-${process.pid}-${++attemptSeq}`;

/** Sends an attempt; on no answer, records it as in doubt on its entry and rethrows. */
export async function send(ctx: RoundContext, entry: KeyEntry, a: Attempt): Promise<Answer> {
  try {
    return await call(ctx.base, a.token, a.method, a.url, a.body, { 'idempotency-key': a.idemKey });
  } catch (err) {
    if (err instanceof InDoubt) {
      entry.doubt.push(a);
      entry.touched = true;
      ctx.ledger.count(`in doubt: ${a.op}`);
      if (!ctx.killing) ctx.ledger.violation('server', `round ${ctx.round}: ${err.message} while the server was meant to be up`);
    }
    throw err;
  }
}

/** Applies a 2xx answer of any write to the entry's baseline and acknowledgement records. */
export function applyAnswer(entry: KeyEntry, a: Attempt, ans: Answer): void {
  const b = ans.body;
  entry.touched = true;
  switch (a.op) {
    case 'submit':
    case 'put':
      entry.ackedVersions.set(b.intent.version, b.decision.id);
      entry.baseline = { version: b.intent.version, status: b.status, state: b.state };
      entry.intent = a.body;
      break;
    case 'approve':
      entry.ackedApprovals.push({ version: b.intent.version, actor: a.actor!, complete: b.status === 'approved' });
      entry.baseline = { version: b.intent.version, status: b.status, state: b.state };
      break;
    case 'action':
      entry.ackedActions.set(a.action!, (entry.ackedActions.get(a.action!) ?? 0) + 1);
      entry.baseline = { version: b.version, status: b.status, state: b.state };
      break;
  }
}

function expectStatus(ctx: RoundContext, a: Attempt, ans: Answer, ok: number): boolean {
  if (ans.status === ok) return true;
  const code = typeof ans.body === 'object' && ans.body ? String(ans.body.code) : String(ans.status);
  ctx.ledger.count(`answered ${ans.status} ${code} to ${a.op}`);
  if (ans.status >= 500) ctx.ledger.violation('server', `round ${ctx.round}: ${a.method} ${a.url} answered ${ans.status}: ${JSON.stringify(ans.body)}`);
  return false;
}

/** Sends a write, applies its answer if it has the expected status, and frees the entry either way. */
async function attempt(ctx: RoundContext, entry: KeyEntry, a: Attempt, ok: number): Promise<void> {
  try {
    const ans = await send(ctx, entry, a);
    if (expectStatus(ctx, a, ans, ok)) applyAnswer(entry, a, ans);
  } finally {
    entry.busy = false;
  }
}

export async function submit(ctx: RoundContext, worker: number, n: number, kind: Kind, startMs?: number, sentinel = false): Promise<void> {
  const key = `c${ctx.round}-w${worker}-${n}`;
  const intent = buildIntent({ kind, key, rng: ctx.rng, ...(startMs !== undefined ? { startMs } : {}) });
  const entry = ctx.ledger.add({ key, kind, intent, ...(startMs !== undefined ? { startMs } : {}), ...(sentinel ? { sentinel } : {}) });
  const a: Attempt = { op: 'submit', key, method: 'POST', url: '/v1/intents', body: intent, token: ctx.tokens.owner, idemKey: idem() };
  await attempt(ctx, entry, a, 201);
}

export async function put(ctx: RoundContext): Promise<boolean> {
  const entry = ctx.ledger.claim(ctx.rng, (e) => e.kind !== 'scheduled' && e.baseline!.state !== 'completed');
  if (!entry) return false;
  const nonce = `v-${idem()}`;
  const cap = entry.kind === 'critical' ? 5 : entry.intent.layer ? 1 : 30;
  const exposure = entry.intent.layer ? int(ctx.rng, 10, 100) / 100 : int(ctx.rng, 1, cap);
  const body = { ...entry.intent, exposure, description: nonce };
  const a: Attempt = { op: 'put', key: entry.key, method: 'PUT', url: `/v1/intents/${entry.key}`, body, token: ctx.tokens.owner, idemKey: idem(), nonce };
  await attempt(ctx, entry, a, 200);
  return true;
}

export async function approve(ctx: RoundContext): Promise<boolean> {
  const entry = ctx.ledger.claim(ctx.rng, (e) => e.baseline!.status === 'pending_approval' && e.baseline!.state !== 'completed');
  if (!entry) return false;
  const who = entry.kind === 'critical' ? 'sre' : 'privacy';
  const a: Attempt = {
    op: 'approve',
    key: entry.key,
    method: 'POST',
    url: `/v1/intents/${entry.key}/approvals`,
    body: { comment: `round ${ctx.round}` },
    token: ctx.tokens[who],
    idemKey: idem(),
    targetVersion: entry.baseline!.version,
    actor: ACTORS[who],
  };
  await attempt(ctx, entry, a, 201);
  return true;
}

export async function act(ctx: RoundContext): Promise<boolean> {
  const entry = ctx.ledger.claim(ctx.rng, (e) => e.kind !== 'scheduled' && (e.baseline!.state === 'running' || e.baseline!.state === 'paused'));
  if (!entry) return false;
  const r = ctx.rng();
  const action: Action =
    r < 0.08 ? 'complete' : r < 0.16 ? 'rollback' : entry.baseline!.state === 'running' ? 'pause' : 'resume';
  const a: Attempt = {
    op: 'action',
    key: entry.key,
    method: 'POST',
    url: `/v1/intents/${entry.key}/actions`,
    body: { action, reason: `crash round ${ctx.round}` },
    token: ctx.rng() < 0.5 ? ctx.tokens.operator : ctx.tokens.owner,
    idemKey: idem(),
    action,
  };
  await attempt(ctx, entry, a, 200);
  return true;
}

/** Reads what a service or a feed consumer would, and remembers what it was served. */
export async function read(ctx: RoundContext): Promise<void> {
  try {
    if (ctx.rng() < 0.6) {
      const service = pick(ctx.rng, SERVICES);
      const res = await fetch(`${ctx.base}/v1/services/${service}/flags`, { headers: { authorization: `Bearer ${ctx.tokens.admin}` } });
      const doc = (await res.json()) as { version: number };
      if (res.status !== 200) return void ctx.ledger.violation('server', `GET flags of ${service} answered ${res.status}`);
      ctx.ledger.servedFlags.push({ service, version: doc.version, etag: res.headers.get('etag') ?? '' });
      ctx.ledger.count('flags reads');
    } else {
      const ans = await call(ctx.base, ctx.tokens.admin, 'GET', `/v1/events?after=${ctx.ledger.eventsCursor}&limit=500`);
      if (ans.status !== 200) return void ctx.ledger.violation('server', `GET /v1/events answered ${ans.status}`);
      for (const e of ans.body.events as { id: number; service: string; version: number; etag: string }[]) {
        ctx.ledger.servedEvents.push({ id: e.id, service: e.service, version: e.version, etag: e.etag });
        ctx.ledger.eventsCursor = Math.max(ctx.ledger.eventsCursor, e.id);
        ctx.ledger.lastEventVersion.set(e.service, e.version);
      }
      ctx.ledger.count('event reads');
    }
  } catch (err) {
    if (!ctx.killing) ctx.ledger.violation('server', `round ${ctx.round}: read failed while the server was up: ${(err as Error).message}`);
    throw new InDoubt('read');
  }
}

/** One worker: random operations until the server is killed under it. */
export async function worker(ctx: RoundContext, id: number): Promise<void> {
  let n = 0;
  while (!ctx.killing) {
    const r = ctx.rng();
    try {
      if (r < 0.28) {
        const kind = pick<Kind>(ctx.rng, ['plain', 'plain', 'critical', 'privacy', 'scheduled']);
        const startMs = kind === 'scheduled' ? Date.now() + int(ctx.rng, 300, 3000) : undefined;
        await submit(ctx, id, n++, kind, startMs);
        continue;
      }
      const did = r < 0.42 ? await put(ctx) : r < 0.6 ? await approve(ctx) : r < 0.82 ? await act(ctx) : (await read(ctx), true);
      // Nothing to do for this pick: yield to the event loop rather than spin on microtasks.
      if (!did) await new Promise((resolve) => setImmediate(resolve));
    } catch (err) {
      if (err instanceof InDoubt) return;
      throw err;
    }
  }
}

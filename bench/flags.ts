import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { FlagdCore } from '@openfeature/flagd-core';
import { createClient } from '../src/sdk/index.js';
import { matchesAudience, type EvaluationContext, type FlagsDocument } from '../src/evaluation/index.js';
import { ADMIN, api, FLAGD_BULK, fromRounds, load, loadPair, loadRows, ROOT, send, summarise, startChild, startFlagd, startServer, timeLoops, type Call, type Spread, type RunningServer, type Row, type Target } from './lib.js';

const SERVICE = 'web';
const FLAGD_IDIOMATIC = 'flagd v0.16.0 daemon (idiomatic definition)';
const FLAGD_EXPORT = "flagd v0.16.0 on Switchyard's export";
const CORE_NAME = 'flagd-core + bare node:http';

const intent = (key: string, flag: string, values: unknown[], exposure: number, extra: Record<string, unknown> = {}) => ({
  key,
  owner: 'growth',
  services: [{ service: SERVICE, flag }],
  variants: values.map((value, i) => ({ key: `v${i}`, weight: 1, value })),
  exposure,
  ...extra,
});

/** Eight flags on one service, covering every kind of rule: audiences, layers, 2 and 3 arms, all value types. */
export const FLAG_INTENTS = [
  intent('checkout-redesign', 'checkout_redesign', [false, true], 40, { layer: 'checkout', audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }] }),
  intent('search-ranking', 'ranking_banner', ['bm25', 'ltr'], 20, { layer: 'search', audience: [{ attribute: 'country', op: 'in', values: ['US', 'CA'] }] }),
  intent('new-nav', 'new_nav', [false, true], 30),
  intent('button-color', 'button_color', ['blue', 'green', 'red'], 50, { layer: 'ui' }),
  intent('price-display', 'price_display', ['plain', 'strikethrough'], 40, { audience: [{ attribute: 'app_version', op: 'semver_gte', value: '2.3.0' }] }),
  intent('search-limit', 'search_limit', [10, 20, 50], 25, { audience: [{ attribute: 'plan', op: 'in', values: ['pro', 'enterprise'] }] }),
  intent('promo-header', 'promo_header', ['none', 'sale'], 10, { audience: [{ attribute: 'email', op: 'ends_with', value: '@example.com' }] }),
  intent('dark-mode', 'dark_mode', [false, true], 50, { audience: [{ attribute: 'country', op: 'neq', value: 'DE' }] }),
];

/** Varied contexts, generated once; every benchmark walks the same array. */
export const CONTEXTS: EvaluationContext[] = Array.from({ length: 1024 }, (_, i) => ({
  targetingKey: `user-${i}`,
  country: ['US', 'CA', 'DE', 'FR', 'GB'][i % 5]!,
  locale: ['en-US', 'en-GB', 'de-DE', 'fr-FR'][i % 4]!,
  app_version: `2.${i % 6}.${i % 3}`,
  plan: ['free', 'pro', 'enterprise'][i % 3]!,
  email: i % 2 ? `u${i}@example.com` : `u${i}@mail.test`,
}));

export interface FlagFixture {
  server: RunningServer;
  /** A `service` token for web. */
  token: string;
  doc: FlagsDocument;
  etag: string;
  /** Our flagd export of the same document, as served. */
  flagdJson: string;
}

/** The real server with the eight flags running on web (submitted over HTTP like any owner would). */
export async function flagFixture(port: number, env: Record<string, string> = {}): Promise<FlagFixture> {
  const server = await startServer(port, { env });
  const owner = (await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-owner', role: 'owner', team: 'growth' })).token;
  for (const body of FLAG_INTENTS) {
    const r = await api(server.base, owner, 'POST', '/v1/intents', body);
    if (r.state !== 'running') throw new Error(`${body.key} is ${r.status}/${r.state}, not running`);
  }
  const token = (await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-web', role: 'service', service: SERVICE })).token;
  const res = await fetch(`${server.base}/v1/services/${SERVICE}/flags`, { headers: { authorization: `Bearer ${token}` } });
  const doc = (await res.json()) as FlagsDocument;
  const flagdJson = await (await fetch(`${server.base}/v1/services/${SERVICE}/flagd.json`, { headers: { authorization: `Bearer ${token}` } })).text();
  return { server, token, doc, etag: res.headers.get('etag')!, flagdJson };
}

const post = (path: string, headers: Record<string, string>, ctx: EvaluationContext): Call => ({
  method: 'POST',
  path,
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify({ context: ctx }),
});

/** One OFREP answer for one flag, whole: what a provider reads. */
type Ofrep = { key: string; value?: unknown; variant?: string; reason?: string; errorCode?: string; errorDetails?: string; metadata?: Record<string, unknown> };

/** The idiomatic flagd definition of the same eight experiments (bench/peers/flagd-idiomatic.json). */
const IDIOMATIC = path.join(ROOT, 'bench/peers/flagd-idiomatic.json');

/** One OFREP server's two routes: `bulk` (every flag) and `single` (one flag, its key appended). */
interface OfrepRoutes {
  base: string;
  bulk: string;
  headers: Record<string, string>;
}

/** Every flag's answer for `ctx` from the bulk route and from the single route (one request per flag), keyed by flag. */
async function bothRoutes(r: OfrepRoutes, keys: string[], ctx: EvaluationContext): Promise<{ bulk: Map<string, Ofrep>; single: Map<string, Ofrep> }> {
  const get = async (path: string) => {
    const res = await send(r.base, post(path, r.headers, ctx), AGENT);
    if (res.status !== 200) throw new Error(`${r.base}${path} answered ${res.status} for ${JSON.stringify(ctx)}: ${res.body}`);
    return JSON.parse(res.body) as Ofrep & { flags?: Ofrep[] };
  };
  const bulk = new Map(((await get(r.bulk)).flags ?? []).map((e) => [e.key, e]));
  const single = new Map<string, Ofrep>();
  for (const key of keys) single.set(key, await get(`${r.bulk}/${encodeURIComponent(key)}`));
  return { bulk, single };
}

const AGENT = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** Runs `fn` on every item, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * Our OFREP answer in flagd's vocabulary, for comparing with a flagd peer serving our export. The
 * mapping is fixed and total; every other field must be equal as it is:
 * - reason: our SPLIT is flagd's TARGETING_MATCH (the export's targeting picked the arm); DEFAULT
 *   and STATIC are the same words;
 * - metadata: flagd merges the export's flag-set metadata (`flagSetId`: the service, `version`:
 *   the flags version as a string) with the flag's own (`experiment`, `experiment_version`,
 *   `switchyard_state`); ours carries the same facts as `flags_version` (a number), `experiment`
 *   and `experiment_version` (a paused flag's state is its reason, STATIC, plus `switchyard_state`).
 */
function asFlagd(e: Ofrep, doc: FlagsDocument): Ofrep {
  if (e.errorCode) return e;
  const { flags_version, ...rest } = (e.metadata ?? {}) as Record<string, unknown>;
  const metadata = { flagSetId: doc.service, version: String(flags_version), switchyard_state: doc.flags[e.key]?.state ?? 'ENABLED', ...rest };
  return { ...e, reason: e.reason === 'SPLIT' ? 'TARGETING_MATCH' : e.reason, metadata };
}

/**
 * Throws unless the peer answers every context exactly as we do, on both OFREP routes: the same
 * flags, and for each the whole answer (value, variant, reason, error code, metadata), ours put in
 * flagd's words by `asFlagd`. Run before a peer serving our export is timed, on every context the
 * load phases send.
 */
async function sameWhole(ours: OfrepRoutes, peer: OfrepRoutes, doc: FlagsDocument, contexts: EvaluationContext[], peerName: string): Promise<void> {
  const keys = Object.keys(doc.flags).sort();
  await pool(contexts, 8, async (ctx) => {
    const [a, b] = await Promise.all([bothRoutes(ours, keys, ctx), bothRoutes(peer, keys, ctx)]);
    for (const route of ['bulk', 'single'] as const) {
      const mine = Object.fromEntries([...a[route]].sort(([x], [y]) => x.localeCompare(y)).map(([k, e]) => [k, asFlagd(e, doc)]));
      const theirs = Object.fromEntries([...b[route]].sort(([x], [y]) => x.localeCompare(y)));
      if (!isDeepStrictEqual(mine, theirs)) {
        const key = keys.find((k) => !isDeepStrictEqual(mine[k], theirs[k])) ?? '(the flag set)';
        throw new Error(`${peerName} answers differ from ours on the ${route} route, flag ${key}, context ${JSON.stringify(ctx)}:\nours   ${JSON.stringify(mine[key])}\ntheirs ${JSON.stringify(theirs[key])}`);
      }
    }
  });
}

/**
 * The comparable part of flagd's answers on the idiomatic definition. Its `fractional` hashes
 * `flagKey + targetingKey`, ours the seeds of SPEC §6 (a layer's, an experiment's), so the same
 * unit lands in different arms by construction; what must hold on every context, both routes:
 * - the same flag set, and each flag's variants with the same values;
 * - the same reason class: flagd's DEFAULT (targeting returned nothing: the audience was not met)
 *   exactly where our audience fails (we answer DEFAULT with the default variant there too), and
 *   its TARGETING_MATCH exactly where our audience holds (we answer SPLIT, or DEFAULT with the
 *   default variant for a unit outside the exposure slice, which flagd folds into the control's
 *   weight); no error codes on either side;
 * - the split: over the contexts in the audience, each variant's share on the two sides within
 *   four standard errors of the difference of two independent samples of that size.
 * Metadata is not compared: ours names the experiment, the idiomatic file carries none.
 */
async function comparableAnswers(ours: OfrepRoutes, peer: OfrepRoutes, doc: FlagsDocument, contexts: EvaluationContext[], peerName: string): Promise<string> {
  const keys = Object.keys(doc.flags).sort();
  const theirsDoc = JSON.parse(fs.readFileSync(IDIOMATIC, 'utf8')) as { flags: Record<string, { variants: Record<string, unknown>; defaultVariant: string }> };
  if (!isDeepStrictEqual(Object.keys(theirsDoc.flags).sort(), keys)) throw new Error(`${peerName}: the idiomatic definition's flags are not ours`);
  for (const key of keys) {
    const f = doc.flags[key]!;
    const t = theirsDoc.flags[key]!;
    if (!isDeepStrictEqual(t.variants, f.variants) || t.defaultVariant !== f.default_variant) throw new Error(`${peerName}: ${key}'s variants differ from ours`);
  }
  const counts = new Map<string, { n: number; ours: Map<string, number>; theirs: Map<string, number> }>();
  const tally = (route: string, key: string) => {
    const id = `${route} ${key}`;
    let c = counts.get(id);
    if (!c) counts.set(id, (c = { n: 0, ours: new Map(), theirs: new Map() }));
    return c;
  };
  await pool(contexts, 8, async (ctx) => {
    const [a, b] = await Promise.all([bothRoutes(ours, keys, ctx), bothRoutes(peer, keys, ctx)]);
    for (const route of ['bulk', 'single'] as const) {
      if (!isDeepStrictEqual([...a[route].keys()].sort(), [...b[route].keys()].sort())) throw new Error(`${peerName}: another flag set on the ${route} route`);
      for (const key of keys) {
        const mine = a[route].get(key)!;
        const theirs = b[route].get(key)!;
        const where = `${peerName}, ${route} route, flag ${key}, context ${JSON.stringify(ctx)}:\nours   ${JSON.stringify(mine)}\ntheirs ${JSON.stringify(theirs)}`;
        if (mine.errorCode || theirs.errorCode) throw new Error(`an error code on ASCII contexts (${where})`);
        const flag = doc.flags[key]!;
        for (const e of [mine, theirs]) if (!isDeepStrictEqual(flag.variants[e.variant!], e.value)) throw new Error(`a variant with another value (${where})`);
        const inAudience = matchesAudience(flag.audience ?? [], ctx);
        const ourClass = mine.reason === 'SPLIT' || (mine.reason === 'DEFAULT' && inAudience) ? 'targeted' : mine.reason === 'DEFAULT' ? 'audience not met' : mine.reason;
        const theirClass = theirs.reason === 'TARGETING_MATCH' ? 'targeted' : theirs.reason === 'DEFAULT' ? 'audience not met' : theirs.reason;
        if (ourClass !== theirClass) throw new Error(`another reason class: ours ${ourClass}, theirs ${theirClass} (${where})`);
        if (mine.reason === 'DEFAULT' && mine.variant !== flag.default_variant) throw new Error(`DEFAULT without the default variant (${where})`);
        if (ourClass === 'audience not met') {
          if (mine.variant !== theirs.variant) throw new Error(`outside the audience, another variant (${where})`);
          continue;
        }
        const c = tally(route, key);
        c.n++;
        c.ours.set(mine.variant!, (c.ours.get(mine.variant!) ?? 0) + 1);
        c.theirs.set(theirs.variant!, (c.theirs.get(theirs.variant!) ?? 0) + 1);
      }
    }
  });
  let widest = 0;
  for (const [id, c] of counts) {
    const key = id.split(' ')[1]!;
    for (const variant of Object.keys(doc.flags[key]!.variants)) {
      const p = ((c.ours.get(variant) ?? 0) + (c.theirs.get(variant) ?? 0)) / (2 * c.n);
      const diff = Math.abs((c.ours.get(variant) ?? 0) - (c.theirs.get(variant) ?? 0)) / c.n;
      const se = Math.sqrt((2 * p * (1 - p)) / c.n);
      if (diff > 4 * se + 1e-12) throw new Error(`${peerName}: ${id} splits differently: ${variant} ${(c.ours.get(variant) ?? 0)}/${c.n} ours against ${(c.theirs.get(variant) ?? 0)}/${c.n} (more than four standard errors, ${(4 * se).toFixed(3)})`);
      if (se > 0) widest = Math.max(widest, diff / se);
    }
  }
  return `same flags, variants and reason classes on ${contexts.length.toLocaleString('en-US')} contexts × both routes; splits within ${widest.toFixed(1)} standard errors`;
}

/**
 * Section 2. Remote evaluation, our OFREP bulk and single routes against:
 * - the flagd daemon on an idiomatic definition of the same experiments (the headline flagd row:
 *   what a team running flagd would write), its answers checked comparable first;
 * - the flagd daemon on our own flagd export (the same rules, longer), answers checked equal whole;
 * - flagd's JavaScript evaluator (flagd-core) behind a bare node:http server on our export, with no
 *   auth and no logging: the least a Node server can do for this work, shown beside ours with our
 *   access log on and off, answers checked equal whole.
 * Same contexts, load and connections; each pair is three rounds taking turns (`loadPair`).
 */
export async function ofrepBench(f: FlagFixture, ports: { flagd: number; core: number; quiet: number }, seconds: number): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-flagd-'));
  const file = path.join(dir, 'flags.json');
  fs.writeFileSync(file, f.flagdJson);
  const keys = Object.keys(f.doc.flags).sort();
  const auth = { authorization: `Bearer ${f.token}` };
  const ourRoutes: OfrepRoutes = { base: f.server.base, bulk: `/v1/services/${SERVICE}/ofrep/v1/evaluate/flags`, headers: auth };
  const peerRoutes = (base: string): OfrepRoutes => ({ base, bulk: FLAGD_BULK, headers: {} });
  const bulk = (r: OfrepRoutes): Target => ({ base: r.base, calls: CONTEXTS.map((c) => post(r.bulk, r.headers, c)) });
  const single = (r: OfrepRoutes): Target => ({ base: r.base, calls: CONTEXTS.map((ctx, i) => post(`${r.bulk}/${keys[i % keys.length]}`, r.headers, ctx)) });
  const BULK = `OFREP bulk (${keys.length} flags per request)`;
  /** Ours against one peer, in alternating rounds; only that peer is running. */
  const versus = async (name: string, peerName: string, a: Target, b: Target, note?: string) => {
    const [ourLoad, peerLoad] = await loadPair(a, b, seconds);
    const rows = loadRows('ofrep', name, ourLoad, { name: peerName, result: peerLoad });
    if (note) rows[0]!.note = note;
    return rows;
  };
  const rows: Row[] = [];
  const flagdBase = `http://127.0.0.1:${ports.flagd}`;
  try {
    // The headline flagd rows: flagd on the definition a flagd user would write.
    let flagd = await startFlagd(ports.flagd, IDIOMATIC);
    try {
      const checked = await comparableAnswers(ourRoutes, peerRoutes(flagdBase), f.doc, CONTEXTS, FLAGD_IDIOMATIC);
      rows.push(...(await versus(BULK, FLAGD_IDIOMATIC, bulk(ourRoutes), bulk(peerRoutes(flagdBase)), checked)));
      rows.push(...(await versus('OFREP single flag', FLAGD_IDIOMATIC, single(ourRoutes), single(peerRoutes(flagdBase)))));
    } finally {
      await flagd.stop();
    }
    flagd = await startFlagd(ports.flagd, file);
    try {
      // flagd, like SPEC §6, hashes UTF-8, so ids outside ASCII land in the same arms too.
      await sameWhole(ourRoutes, peerRoutes(flagdBase), f.doc, [...CONTEXTS, ...UNICODE_CONTEXTS], FLAGD_EXPORT);
      const note = `answers equal whole on ${(CONTEXTS.length + UNICODE_CONTEXTS.length).toLocaleString('en-US')} contexts × both routes`;
      rows.push(...(await versus(BULK, FLAGD_EXPORT, bulk(ourRoutes), bulk(peerRoutes(flagdBase)), note)));
      rows.push(...(await versus('OFREP single flag', FLAGD_EXPORT, single(ourRoutes), single(peerRoutes(flagdBase)))));
    } finally {
      await flagd.stop();
    }
    const coreBase = `http://127.0.0.1:${ports.core}`;
    const core = await startChild(process.execPath, [path.join(ROOT, 'dist/bench/peers/flagd-ofrep.js'), String(ports.core), file], { ready: /listening/ });
    try {
      await sameWhole(ourRoutes, peerRoutes(coreBase), f.doc, CONTEXTS, CORE_NAME);
      const note = `answers equal whole on ${CONTEXTS.length.toLocaleString('en-US')} contexts × both routes`;
      rows.push(...(await versus(BULK, CORE_NAME, bulk(ourRoutes), bulk(peerRoutes(coreBase)), note)));
      // The same flags and token on a second server started with the access log off.
      const quiet = await flagFixture(ports.quiet, { SWITCHYARD_LOG_LEVEL: 'warn' });
      try {
        const quietRoutes = { ...ourRoutes, base: quiet.server.base, headers: { authorization: `Bearer ${quiet.token}` } };
        rows.push(...(await versus('OFREP bulk, access log off (SWITCHYARD_LOG_LEVEL=warn)', CORE_NAME, bulk(quietRoutes), bulk(peerRoutes(coreBase)))));
      } finally {
        await quiet.server.stop();
      }
    } finally {
      await core.stop();
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Contexts whose ids are not ASCII: flagd-core (JavaScript) hashes UTF-16 and differs on them. */
const UNICODE_CONTEXTS: EvaluationContext[] = CONTEXTS.slice(0, 100).map((c, i) => ({ ...c, targetingKey: `ünïcødé-${i}-日本-😀` }));

/** Section 3. Flag fetch: the flags document (200) and the ETag revalidation (304). */
export async function fetchBench(f: FlagFixture, seconds: number): Promise<Row[]> {
  const path = `/v1/services/${SERVICE}/flags`;
  const auth = { authorization: `Bearer ${f.token}` };
  const full = summarise([await load(f.server.base, [{ method: 'GET', path, headers: auth }], seconds)]);
  const revalidate = summarise([await load(f.server.base, [{ method: 'GET', path, headers: { ...auth, 'if-none-match': f.etag }, status: 304 }], seconds)]);
  return [...loadRows('fetch', `GET flags → 200 (${f.doc.flags ? Object.keys(f.doc.flags).length : 0} flags)`, full), ...loadRows('fetch', 'GET flags + If-None-Match → 304', revalidate)];
}

let sink = 0;

type Evaluate = (ctx: EvaluationContext) => unknown;

/**
 * Section 4. Local evaluation: our SDK client (holding the document the server serves) against
 * flagd-core holding our flagd export of it. Typed calls on both sides, as a provider makes them;
 * every flag against every one of the 1,024 contexts, in the same order.
 */
export async function localBench(f: FlagFixture): Promise<Row[]> {
  const client = createClient({ baseUrl: f.server.base, service: SERVICE, token: f.token, mode: 'poll', pollIntervalMs: 3_600_000 });
  await client.ready();
  const core = new FlagdCore();
  core.setConfigurations(f.flagdJson);
  const ours: Evaluate[] = [];
  const theirs: Evaluate[] = [];
  for (const [key, flag] of Object.entries(f.doc.flags)) {
    const sample = Object.values(flag.variants)[0];
    const fallback = typeof sample === 'boolean' ? false : typeof sample === 'number' ? 0 : '';
    ours.push((ctx) => client.evaluate(key, ctx, fallback).value);
    theirs.push((ctx) => {
      const c = ctx as Parameters<FlagdCore['resolveAll']>[0];
      if (typeof fallback === 'boolean') return core.resolveBooleanEvaluation(key, fallback, c).value;
      if (typeof fallback === 'number') return core.resolveNumberEvaluation(key, fallback, c).value;
      return core.resolveStringEvaluation(key, fallback, c).value;
    });
  }
  const k = ours.length;
  const contextOf = (i: number) => CONTEXTS[((i / k) | 0) & 1023]!;
  // Same answers first: the loops below must time the same work.
  for (let i = 0; i < k * CONTEXTS.length; i++) {
    if (ours[i % k]!(contextOf(i)) !== theirs[i % k]!(contextOf(i))) throw new Error(`local answers differ at ${i}`);
  }
  const run = (fns: Evaluate[]) => (i: number) => {
    if (fns[i % k]!(contextOf(i))) sink++;
  };
  const [ns, peerNs] = (await timeLoops(200_000, [run(ours), run(theirs)])) as [Spread, Spread];
  await client.close();
  return [
    {
      section: 'local',
      name: 'SDK evaluate vs flagd-core (in-process)',
      metric: 'time per evaluation',
      ...fromRounds(ns),
      unit: 'ns',
      peer: { name: 'flagd-core', ...fromRounds(peerNs) },
      note: `${k} flags × 1,024 contexts, typed calls`,
    },
  ];
}

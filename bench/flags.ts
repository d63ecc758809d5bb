import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlagdCore } from '@openfeature/flagd-core';
import { createClient } from '../src/sdk/index.js';
import type { EvaluationContext, FlagsDocument } from '../src/evaluation/index.js';
import { ADMIN, api, FLAGD_BULK, load, loadPair, loadRows, ROOT, summarise, startChild, startFlagd, startServer, timeLoops, type Call, type RunningServer, type Row, type Target } from './lib.js';

const SERVICE = 'web';
const FLAGD_NAME = 'flagd v0.16.0 daemon';
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

type Ofrep = { key: string; value?: unknown; variant?: string };

/**
 * Section 2. Remote evaluation: our OFREP bulk and single endpoints against the flagd daemon
 * serving our own flagd export, with the same contexts, the same load and the same connections.
 * Then the same bulk load against flagd's JavaScript evaluator (flagd-core) behind a bare
 * node:http server with no auth and no logging: the least a Node server can do for this work,
 * shown beside ours with our access log on and off. Every peer's answers are compared with ours
 * first, so all do the same work. Each pair is three alternating rounds (`loadPair`), as the
 * bare server's throughput is within the run-to-run noise of ours.
 */
export async function ofrepBench(f: FlagFixture, ports: { flagd: number; core: number; quiet: number }, seconds: number): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-flagd-'));
  const file = path.join(dir, 'flags.json');
  fs.writeFileSync(file, f.flagdJson);
  const keys = Object.keys(f.doc.flags);
  const ours = `/v1/services/${SERVICE}/ofrep/v1/evaluate/flags`;
  const bulk = (base: string, prefix: string, headers: Record<string, string>) => ({ base, calls: CONTEXTS.map((c) => post(prefix, headers, c)) });
  const single = (base: string, prefix: string, headers: Record<string, string>) => ({
    base,
    calls: CONTEXTS.map((ctx, i) => post(`${prefix}/${keys[i % keys.length]}`, headers, ctx)),
  });
  const auth = { authorization: `Bearer ${f.token}` };
  const BULK = `OFREP bulk (${keys.length} flags per request)`;
  /** Ours against one peer, in alternating rounds; only that peer is running. */
  const versus = async (name: string, peerName: string, a: Target, b: Target) => {
    const [ourLoad, peerLoad] = await loadPair(a, b, seconds);
    return loadRows('ofrep', name, ourLoad, { name: peerName, result: peerLoad });
  };
  const rows: Row[] = [];
  try {
    const flagdBase = `http://127.0.0.1:${ports.flagd}`;
    const flagd = await startFlagd(ports.flagd, file);
    try {
      // flagd, like SPEC §6, hashes UTF-8, so ids outside ASCII land in the same arms too.
      await sameAnswers(f.server.base, ours, auth, flagdBase, [...CONTEXTS.slice(0, 100), ...UNICODE_CONTEXTS]);
      rows.push(...(await versus(BULK, FLAGD_NAME, bulk(f.server.base, ours, auth), bulk(flagdBase, FLAGD_BULK, {}))));
      rows.push(...(await versus('OFREP single flag', FLAGD_NAME, single(f.server.base, ours, auth), single(flagdBase, FLAGD_BULK, {}))));
    } finally {
      await flagd.stop();
    }
    const coreBase = `http://127.0.0.1:${ports.core}`;
    const core = await startChild(process.execPath, [path.join(ROOT, 'dist/bench/peers/flagd-ofrep.js'), String(ports.core), file], { ready: /listening/ });
    try {
      await sameAnswers(f.server.base, ours, auth, coreBase, CONTEXTS.slice(0, 100));
      rows.push(...(await versus(BULK, CORE_NAME, bulk(f.server.base, ours, auth), bulk(coreBase, FLAGD_BULK, {}))));
      // The same flags and token on a second server started with the access log off.
      const quiet = await flagFixture(ports.quiet, { SWITCHYARD_LOG_LEVEL: 'warn' });
      try {
        const quietAuth = { authorization: `Bearer ${quiet.token}` };
        rows.push(...(await versus('OFREP bulk, access log off (SWITCHYARD_LOG_LEVEL=warn)', CORE_NAME, bulk(quiet.server.base, ours, quietAuth), bulk(coreBase, FLAGD_BULK, {}))));
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

/** Throws unless the peer at `peerBase` gives every one of `contexts` the arms we give. */
async function sameAnswers(base: string, ours: string, auth: Record<string, string>, peerBase: string, contexts: EvaluationContext[]): Promise<void> {
  for (const ctx of contexts) {
    const a = await answers(base, post(ours, auth, ctx));
    const b = await answers(peerBase, post(FLAGD_BULK, {}, ctx));
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`OFREP answers differ from ${peerBase} for ${JSON.stringify(ctx)}:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  }
}

/** Bulk answers as (key, variant, value), sorted, for comparing two servers. */
async function answers(base: string, call: Call): Promise<[string, unknown, unknown][]> {
  const res = await fetch(base + call.path, { method: call.method, headers: call.headers, body: call.body });
  const { flags } = (await res.json()) as { flags: Ofrep[] };
  return flags.map((e): [string, unknown, unknown] => [e.key, e.variant, e.value]).sort((x, y) => x[0].localeCompare(y[0]));
}

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
  const [ns, peerNs] = timeLoops(200_000, [run(ours), run(theirs)]) as [number, number];
  await client.close();
  return [
    {
      section: 'local',
      name: 'SDK evaluate vs flagd-core (in-process)',
      metric: 'time per evaluation',
      value: ns,
      unit: 'ns',
      peer: { name: 'flagd-core', value: peerNs },
      note: `${k} flags × 1,024 contexts, typed calls`,
    },
  ];
}

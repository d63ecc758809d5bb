/**
 * `make interop`: the stock OpenFeature OFREP providers for JavaScript (@openfeature/ofrep-provider),
 * Python (openfeature-provider-ofrep) and Go (go-sdk-contrib/providers/ofrep), and the real flagd
 * daemon syncing our flagd.json over HTTP with `authHeader` (SPEC §11), against our OFREP answers,
 * on seeded contexts that reach every audience op, numeric and string attributes, ids with
 * leading/trailing spaces and outside ASCII, layers, an override and a paused flag.
 *
 * Not part of `make test` (vitest.config.ts excludes this folder): it needs Python, Go and the flagd
 * build, which the Makefile's `interop` target installs into .tools/ and passes in as
 * SWITCHYARD_INTEROP_PYTHON, SWITCHYARD_INTEROP_GO and SWITCHYARD_INTEROP_FLAGD.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature, type EvaluationContext as OfContext } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/harness.js';
import { prng } from '../helpers/prng.js';
import { ROOT } from '../helpers/paths.js';

const SERVICE = 'recommendations';
const CONTEXTS = 1200;
const PYTHON = process.env['SWITCHYARD_INTEROP_PYTHON'];
const GO = process.env['SWITCHYARD_INTEROP_GO'];
const FLAGD = process.env['SWITCHYARD_INTEROP_FLAGD'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Context = Record<string, Json>;
/** `integer`: a number flag whose values are all whole numbers, which Python reads with get_integer_details. */
type FlagType = 'boolean' | 'string' | 'integer' | 'number' | 'object';

interface Variant {
  key: string;
  weight: number;
  value: Json;
  overrides?: Record<string, Json>;
}

const variants = (values: Json[], weights?: number[]): Variant[] => values.map((value, i) => ({ key: i === 0 ? 'control' : `arm-${i}`, weight: weights?.[i] ?? 1, value }));
const cond = (attribute: string, op: string, v: Json | Json[]) => (Array.isArray(v) ? { attribute, op, values: v } : { attribute, op, value: v });

/** Every audience op, on numeric and string attributes; layers; an override; another unit; a paused flag. */
const INTENTS: Record<string, unknown>[] = [
  { key: 'ix-num-range', flag: 'num_range', variants: variants([false, true]), exposure: 80, audience: [cond('age', 'gte', 18), cond('age', 'lt', 65)] },
  { key: 'ix-num-score', flag: 'num_score', variants: variants(['a', 'b', 'c'], [1, 2, 3]), exposure: 100, audience: [cond('score', 'gt', 50.5), cond('score', 'lte', 99)] },
  { key: 'ix-eq-neq', flag: 'eq_neq', variants: variants([1.5, 2.5]), exposure: 70, audience: [cond('plan', 'eq', 'pro'), cond('age', 'neq', 30)] },
  { key: 'ix-eq-num', flag: 'eq_num', variants: variants(['x', 'y']), exposure: 90, audience: [cond('level', 'eq', 3), cond('plan', 'neq', 'free')] },
  { key: 'ix-in-str', flag: 'in_str', variants: variants([false, true]), exposure: 75, audience: [cond('country', 'in', ['US', 'DE', '日本', ' GB ']), cond('level', 'not_in', [1, 2])] },
  { key: 'ix-in-num', flag: 'in_num', variants: variants([10, 20, 30]), exposure: 100, audience: [cond('level', 'in', [3, 4, 5]), cond('country', 'not_in', ['FR', 'US'])] },
  { key: 'ix-in-bool', flag: 'in_bool', variants: variants([false, true]), exposure: 100, audience: [cond('beta', 'in', [true]), cond('beta', 'eq', true)] },
  { key: 'ix-str-order', flag: 'str_order', variants: variants(['lo', 'hi']), exposure: 85, audience: [cond('name', 'gt', 'm'), cond('name', 'lte', 'zz')] },
  { key: 'ix-str-order2', flag: 'str_order2', variants: variants([false, true]), exposure: 100, audience: [cond('name', 'gte', 'b'), cond('name', 'lt', 'é')] },
  { key: 'ix-affix', flag: 'affix', variants: variants(['plain', 'fancy']), exposure: 100, audience: [cond('email', 'starts_with', 'u'), cond('email', 'ends_with', '@example.com')] },
  { key: 'ix-semver', flag: 'semver', variants: variants([false, true]), exposure: 100, audience: [cond('app_version', 'semver_gte', '1.2.0'), cond('app_version', 'semver_lt', '3.0.0-rc.1')] },
  { key: 'ix-layer-a', flag: 'layer_a', variants: variants(['a0', 'a1']), exposure: 40, layer: 'ixl' },
  { key: 'ix-layer-b', flag: 'layer_b', variants: variants([false, true], [1, 3]), exposure: 35.5, layer: 'ixl' },
  {
    key: 'ix-override',
    flag: 'override',
    variants: [{ key: 'control', weight: 1, value: 'off' }, { key: 'treatment', weight: 1, value: 'on', overrides: { [SERVICE]: 'on-rec' } }],
    exposure: 60,
  },
  { key: 'ix-account', flag: 'account', unit: 'account', variants: variants([{ n: 0 }, { n: 1 }]), exposure: 50 },
  { key: 'ix-paused', flag: 'paused', variants: variants(['control-value', 'treatment-value']), exposure: 100 },
];


function contexts(n: number): Context[] {
  const r = prng(20261125);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  /** Present with probability p, else absent (undefined drops the member). */
  const maybe = <T>(p: number, f: () => T): T | undefined => (r() < p ? f() : undefined);
  const ids = [
    (i: number) => `u-${i}`,
    (i: number) => ` u-${i}`,
    (i: number) => `u-${i} `,
    (i: number) => `  ${i}\t`,
    (i: number) => `ünïcødé-${i}-日本-😀`,
    (i: number) => ` ü ${i} `,
    (i: number) => `user ${i} with spaces`,
  ];
  const out: Context[] = [];
  for (let i = 0; i < n; i++) {
    const c: Record<string, Json | undefined> = {
      // Now and then none: TARGETING_KEY_MISSING, unless the unit attribute is there.
      targetingKey: maybe(0.95, () => pick(ids)(i)),
      user_id: maybe(0.15, () => pick<Json>([`uid ${i} `, 1000 + i, ` ${i}`])),
      // A boolean unit id is INVALID_CONTEXT.
      account: maybe(0.6, () => pick<Json>([`acct-${i % 97}`, ` acct ${i % 13} `, i % 50, false])),
      age: maybe(0.85, () => pick<Json>([Math.floor(r() * 90), 17.5, 18, 64.99, 65, 30, '30', '45', true])),
      score: maybe(0.85, () => pick<Json>([Math.round(r() * 12000) / 100, 50.5, 99, 50.51, '75', null])),
      plan: maybe(0.85, () => pick<Json>(['free', 'pro', 'enterprise', 'Pro', 7, false])),
      level: maybe(0.85, () => pick<Json>([1, 2, 3, 4, 5, 3.5, '3', true])),
      country: maybe(0.85, () => pick<Json>(['US', 'DE', 'FR', '日本', ' GB ', 'GB', 1, 'us'])),
      beta: maybe(0.85, () => pick<Json>([true, false, 'true', 1, 0])),
      name: maybe(0.85, () => pick<Json>(['alice', 'mallory', 'n', 'zz', 'zzz', 'é', 'éa', 'b', 'a', 'Zoë', '😀', 5, 'm'])),
      email: maybe(0.85, () => pick<Json>([`u${i}@example.com`, `v${i}@example.com`, `u${i}@mail.test`, 'u@example.com ', 42])),
      app_version: maybe(0.85, () => pick<Json>(['1.2.0', '1.1.9', '2.10.3', '3.0.0-rc.0', '3.0.0-rc.1', '3.0.0', '1.2.0-alpha', 'v2.0.0', 2])),
    };
    out.push(Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as Context);
  }
  return out;
}

interface Case {
  flag: string;
  type: FlagType;
  context: Context;
}

/** What a client reports for one case. */
interface Seen {
  value: unknown;
  variant?: string | null;
  reason?: string | null;
  errorCode?: string | null;
}

type Ofrep = { key: string; value?: Json; variant?: string; reason?: string; errorCode?: string; metadata?: Record<string, unknown> };

const CODE_DEFAULTS: Record<FlagType, Json> = { boolean: false, string: 'code-default', integer: -1, number: -1, object: {} };

function typeOf(values: Json[]): FlagType {
  const first = values[0]!;
  if (typeof first === 'number') return values.every((v) => Number.isInteger(v)) ? 'integer' : 'number';
  if (typeof first === 'boolean' || typeof first === 'string') return typeof first as FlagType;
  return 'object';
}

/** What a stock OFREP provider must report, given our OFREP answer. */
function expectedFromOfrep(ours: Ofrep, type: FlagType): Seen {
  if (ours.errorCode) return { value: CODE_DEFAULTS[type], errorCode: ours.errorCode };
  return { value: ours.value, variant: ours.variant, reason: ours.reason };
}

/** Compares, and collects up to a few disagreements with their cases. */
class Disagreements {
  readonly found: string[] = [];
  count = 0;
  constructor(readonly client: string) {}
  check(c: Case, expected: Seen, got: Seen): void {
    const same =
      JSON.stringify(expected.value) === JSON.stringify(got.value) &&
      (expected.errorCode ?? null) === (got.errorCode ?? null) &&
      (expected.errorCode || ((expected.variant ?? null) === (got.variant ?? null) && (expected.reason ?? null) === (got.reason ?? null)));
    if (same) return;
    this.count++;
    if (this.found.length < 5) this.found.push(`${c.flag} ${JSON.stringify(c.context)}\n    ours:   ${JSON.stringify(expected)}\n    ${this.client}: ${JSON.stringify(got)}`);
  }
  report(): string {
    return `${this.client} disagrees on ${this.count} cases; the first ${this.found.length}:\n  ${this.found.join('\n  ')}`;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Runs one of the client programs on the cases and returns what it saw. */
async function runClient(command: string, args: string[], base: string, token: string, cases: Case[], dir: string, name: string): Promise<Seen[]> {
  const input = path.join(dir, `${name}-cases.json`);
  const output = path.join(dir, `${name}-results.json`);
  fs.writeFileSync(input, JSON.stringify(cases));
  await run(command, [...args, base, token, input, output]);
  return JSON.parse(fs.readFileSync(output, 'utf8')) as Seen[];
}

describe('interop: stock OFREP providers and the flagd daemon agree with our OFREP', () => {
  let s: TestServer;
  let token: string;
  let dir: string;
  let cases: Case[];
  /** Our OFREP bulk answer per context, by flag. */
  const ours: Map<string, Ofrep>[] = [];
  const ctxs = contexts(CONTEXTS);
  let types: Map<string, FlagType>;

  beforeAll(async () => {
    if (!PYTHON || !GO || !FLAGD) throw new Error('SWITCHYARD_INTEROP_PYTHON, _GO and _FLAGD are unset: run this through `make interop`, which installs them');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-interop-'));
    s = await startServer();
    const owner = await s.token({ name: 'ix-owner', role: 'owner', team: 'growth' });
    for (const { flag, ...intent } of INTENTS) {
      const res = await owner.post('/v1/intents', { owner: 'growth', services: [{ service: SERVICE, flag }], ...intent });
      if (res.status !== 201 || res.body.status !== 'approved') throw new Error(`${String(intent['key'])}: ${res.status} ${res.text}`);
    }
    const paused = await owner.post('/v1/intents/ix-paused/actions', { action: 'pause', reason: 'interop' });
    if (paused.status !== 200) throw new Error(`pause: ${paused.status} ${paused.text}`);
    token = (await s.token({ name: 'ix-service', role: 'service', service: SERVICE })).secret;
    const doc = (await s.api.get(`/v1/services/${SERVICE}/flags`)).body as { flags: Record<string, { variants: Record<string, Json>; state: string }> };
    expect(Object.keys(doc.flags)).toHaveLength(INTENTS.length);
    expect(doc.flags['paused']!.state).toBe('DISABLED');
    types = new Map(Object.entries(doc.flags).map(([k, f]) => [k, typeOf(Object.values(f.variants))]));
    cases = [];
    for (const context of ctxs) {
      const res = await fetch(`${s.base}/v1/services/${SERVICE}/ofrep/v1/evaluate/flags`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ context }),
      });
      const { flags } = (await res.json()) as { flags: Ofrep[] };
      ours.push(new Map(flags.map((f) => [f.key, f])));
      for (const f of flags) cases.push({ flag: f.key, type: types.get(f.key)!, context });
    }
  }, 300_000);

  afterAll(async () => {
    await s?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const oursFor = (i: number): Ofrep => ours[Math.floor(i / INTENTS.length)]!.get(cases[i]!.flag)!;

  it('reaches every outcome: each arm of each flag, defaults, the paused answer, and errors', () => {
    expect(ctxs.length).toBeGreaterThanOrEqual(1000);
    const outcomes = new Set<string>();
    for (let i = 0; i < cases.length; i++) {
      const o = oursFor(i);
      outcomes.add(o.errorCode ? `error:${o.errorCode}` : `${o.reason}`);
      if (!o.errorCode) outcomes.add(`${cases[i]!.flag}:${o.variant}:${o.reason}`);
    }
    for (const intent of INTENTS) {
      if (intent['key'] === 'ix-paused') continue;
      for (const v of intent['variants'] as Variant[]) expect(outcomes, `${String(intent['flag'])}:${v.key}`).toContain(`${String(intent['flag'])}:${v.key}:SPLIT`);
      expect(outcomes).toContain(`${String(intent['flag'])}:control:DEFAULT`);
    }
    expect(outcomes).toContain('paused:control:STATIC');
    expect(outcomes).toContain('error:INVALID_CONTEXT');
  });

  it('the paused flag answers its control arm, reason STATIC, metadata switchyard_state DISABLED', () => {
    const o = ours[0]!.get('paused')!;
    expect(o).toMatchObject({ value: 'control-value', variant: 'control', reason: 'STATIC', metadata: { switchyard_state: 'DISABLED' } });
  });

  it('the Go provider (go-sdk-contrib/providers/ofrep) sees our answers', async () => {
    const seen = await runClient(GO!, [], `${s.base}/v1/services/${SERVICE}`, token, cases, dir, 'go');
    const d = new Disagreements('go');
    // Go's SDK reports no variant on an error, and "" for none.
    seen.forEach((got, i) => d.check(cases[i]!, expectedFromOfrep(oursFor(i), cases[i]!.type), { ...got, variant: got.variant || null, errorCode: got.errorCode || null }));
    expect(d.count, d.report()).toBe(0);
  }, 600_000);

  it('the Python provider (openfeature-provider-ofrep) sees our answers', async () => {
    const seen = await runClient(PYTHON!, [path.join(ROOT, 'test/interop/python/interop.py')], `${s.base}/v1/services/${SERVICE}`, token, cases, dir, 'python');
    const d = new Disagreements('python');
    seen.forEach((got, i) => d.check(cases[i]!, expectedFromOfrep(oursFor(i), cases[i]!.type), got));
    expect(d.count, d.report()).toBe(0);
  }, 600_000);

  it('the JavaScript provider (@openfeature/ofrep-provider) sees our answers', async () => {
    const provider = new OFREPProvider({ baseUrl: `${s.base}/v1/services/${SERVICE}`, headers: [['Authorization', `Bearer ${token}`]] });
    await OpenFeature.setProviderAndWait('interop', provider);
    const client = OpenFeature.getClient('interop');
    const d = new Disagreements('javascript');
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const ctx = c.context as OfContext;
      const details =
        c.type === 'boolean'
          ? await client.getBooleanDetails(c.flag, false, ctx)
          : c.type === 'string'
            ? await client.getStringDetails(c.flag, 'code-default', ctx)
            : c.type === 'number' || c.type === 'integer'
              ? await client.getNumberDetails(c.flag, -1, ctx)
              : await client.getObjectDetails(c.flag, {}, ctx);
      const got: Seen = { value: details.value, variant: details.variant ?? null, reason: details.reason ?? null, errorCode: details.errorCode ?? null };
      d.check(c, expectedFromOfrep(oursFor(i), c.type), got);
    }
    await OpenFeature.clearProviders();
    expect(d.count, d.report()).toBe(0);
  }, 600_000);

  it('the flagd daemon, syncing our flagd.json over HTTP with authHeader, serves the same variants without logging errors', async () => {
    const [ofrepPort, grpcPort, mgmtPort, syncPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const sources = [{ uri: `${s.base}/v1/services/${SERVICE}/flagd.json`, provider: 'http', authHeader: `Bearer ${token}`, interval: 1 }];
    const log: string[] = [];
    const child: ChildProcess = spawn(
      FLAGD!,
      ['start', '--sources', JSON.stringify(sources), '--ofrep-port', String(ofrepPort), '--port', String(grpcPort), '--management-port', String(mgmtPort), '--sync-port', String(syncPort)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (b: Buffer) => log.push(String(b)));
    child.stderr!.on('data', (b: Buffer) => log.push(String(b)));
    const flagdBulk = async (context: Context): Promise<Ofrep[]> => {
      const res = await fetch(`http://127.0.0.1:${ofrepPort}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ context }) });
      return ((await res.json()) as { flags?: Ofrep[] }).flags ?? [];
    };
    try {
      // flagd answers before its first sync lands: poll, with a bound, until it serves every flag.
      let loaded = false;
      for (let i = 0; i < 300 && !loaded; i++) {
        try {
          loaded = (await flagdBulk({ targetingKey: 'probe' })).length === INTENTS.length;
        } catch {
          // not listening yet
        }
        if (!loaded) await new Promise((r) => setTimeout(r, 100));
      }
      expect(loaded, `flagd did not sync the ${INTENTS.length} flags; its log:\n${log.join('')}`).toBe(true);
      const before = log.join('').length;
      const d = new Disagreements('flagd');
      // flagd reports TARGETING_MATCH where SPEC §6 says SPLIT, and cannot raise errors: where we
      // answer an error it serves the default variant with reason DEFAULT (ADR 0003).
      const REASONS: Record<string, string> = { SPLIT: 'TARGETING_MATCH', DEFAULT: 'DEFAULT', STATIC: 'STATIC' };
      const defaults = new Map<string, Ofrep>();
      for (const [k, f] of ours[0]!) if (!f.errorCode && f.variant === 'control') defaults.set(k, f);
      for (let j = 0; j < ctxs.length; j++) {
        const theirs = new Map((await flagdBulk(ctxs[j]!)).map((f) => [f.key, f]));
        for (const [key, o] of ours[j]!) {
          const t = theirs.get(key);
          const expected: Seen = o.errorCode
            ? { value: controlValue(key), variant: 'control', reason: 'DEFAULT' }
            : { value: o.value, variant: o.variant, reason: REASONS[o.reason!] };
          d.check({ flag: key, type: types.get(key)!, context: ctxs[j]! }, expected, t ? { value: t.value, variant: t.variant, reason: t.reason, errorCode: t.errorCode ?? null } : { value: 'missing' });
        }
      }
      expect(d.count, d.report()).toBe(0);
      const during = log.join('').slice(before);
      expect(during.match(/.*\b(error|panic|stacktrace)\b.*/gi)?.slice(0, 5) ?? [], 'flagd logged errors while evaluating').toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 600_000);

  function controlValue(flag: string): Json {
    const intent = INTENTS.find((i) => i['flag'] === flag)!;
    const control = (intent['variants'] as Variant[])[0]!;
    return control.overrides?.[SERVICE] ?? control.value;
  }
});

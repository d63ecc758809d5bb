import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import { parseIntent } from '../src/intents/intent-service.js';
import { parseBundle } from '../src/policy/policy-bundle.js';
import { LoadedBundle, PolicyEngine } from '../src/policy/policy-engine.js';
import { PolicySandbox } from '../src/policy/policy-sandbox.js';
import { buildPolicyInput, probeInput, type PolicyInput } from '../src/policy/policy-input.js';
import { LayerSpace, type LayerMember } from '../src/flags/layer-allocator.js';
import type { LiveFlagClaim } from '../src/intents/intent-store.js';
import type { Actor } from '../src/access/actor.js';
import type { Container } from '../src/container.js';
import {
  alternate,
  api,
  ADMIN,
  BUNDLE,
  dispose,
  fromRounds,
  latencyRows,
  load,
  loadPair,
  loadRows,
  OPA_EVAL,
  ROOT,
  roundTrips,
  seedingContainer,
  send,
  serveCopy,
  spread,
  startOpa,
  timeEach,
  type Call,
  type Row,
} from './lib.js';

/**
 * The three README examples (pending approval, denied for three reasons, approved). The shipped
 * checkout-redesign has no schedule (docs/dates.md: a fixed one expires); here it gets the SPEC §2
 * example's 30 days, from tomorrow, so every decision judges a schedule, allowed on whatever day the bench runs.
 */
export const EXAMPLES = ['checkout-redesign', 'denied', 'search-ranking'].map((name) => {
  const intent = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', `${name}.json`), 'utf8')) as Record<string, any>;
  return name === 'checkout-redesign' ? { ...intent, schedule: scheduleFromTomorrow(30) } : intent;
});

function scheduleFromTomorrow(days: number): { start: string; end: string } {
  const day = 86_400_000;
  const tomorrow = Math.floor(Date.now() / day) * day + day;
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return { start: iso(tomorrow), end: iso(tomorrow + days * day) };
}

/** A layer held by `n` other running experiments of 2 % each, as the server keeps it (its LayerSpace). */
function layerOf(n: number): (key: string, layer: string) => ReturnType<LayerSpace['room']> {
  return (key, layer) => {
    const space = new LayerSpace(layer);
    for (let i = 0; i < n; i++) {
      const m: LayerMember = { key: `other-${i}`, version: 1, status: 'running', exposure: 2, start: i * 200, end: i * 200 + 200 };
      space.set(m.key, [m]);
    }
    return space.room(key);
  };
}

/**
 * Live contexts a decision may meet: none, a busy layer, and another experiment holding the flag.
 * The input is the server's (live.flags, live.layer_room: the layer's bounded room summary).
 */
const LIVES: ((intent: Record<string, any>) => { flags: LiveFlagClaim[]; layerRoom: ReturnType<typeof layerOf> })[] = [
  () => ({ flags: [], layerRoom: layerOf(0) }),
  () => ({ flags: [], layerRoom: layerOf(20) }),
  (intent) => ({ flags: [{ key: 'holder', version: 2, status: 'running', ...intent['services'][0] }], layerRoom: layerOf(2) }),
];

/** 48 policy inputs: each example under each live context, under four keys. The same array goes to both engines. */
export async function decisionInputs(now: Date): Promise<PolicyInput[]> {
  const actor = { name: 'alice', role: 'owner', team: 'growth' };
  const out: PolicyInput[] = [];
  for (let k = 0; k < 4; k++) {
    for (const example of EXAMPLES) {
      for (const live of LIVES) {
        const intent = parseIntent({ ...example, key: `${example['key']}${k ? `-${k}` : ''}` });
        const claims = live(example);
        out.push(await buildPolicyInput(intent, actor, now, { liveFlagClaims: async () => claims.flags, layerRoom: async (key, layer) => claims.layerRoom(key, layer) }));
      }
    }
  }
  return out;
}

/** The engine as the server runs it: wasm in the sandbox worker, called synchronously with the default deadline. */
export async function engineFromBundle(): Promise<PolicyEngine> {
  const logger = pino({ level: 'silent' });
  const engine = new PolicyEngine(logger, new PolicySandbox({ timeoutMs: 1000, loadTimeoutMs: 30_000, logger }));
  const bundle = await parseBundle(fs.readFileSync(BUNDLE));
  engine.activate(await LoadedBundle.load(bundle, probeInput(new Date()), engine.runner));
  return engine;
}

const OPA_GO = 'OPA Go evaluator (rego, in process)';
const OPA_SIDECAR = 'OPA as a sidecar (opa run --server)';

/**
 * OPA's own Go evaluator (bench/peers/opa-eval) on the policies/ sources and the given inputs: one
 * child process driven by lines on stdin. It times its own evaluations (one clock pair per Eval),
 * as `timeEach` times ours, so no pipe or process boundary is in either figure.
 */
export async function startGoEvaluator(inputs: PolicyInput[]): Promise<{ answers(): Promise<unknown[]>; time(n: number): Promise<number[]>; stop(): Promise<void> }> {
  if (!OPA_EVAL) throw new Error('SWITCHYARD_BENCH_OPA_EVAL is not set: run the benchmarks with `make bench`, which builds OPA\'s Go evaluator');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-opa-eval-'));
  const file = path.join(dir, 'inputs.json');
  fs.writeFileSync(file, JSON.stringify(inputs));
  const child = spawn(OPA_EVAL, [path.join(ROOT, 'policies'), file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`opa-eval exited (${code}) before answering`))));
  exited.catch(() => undefined);
  const next = async (): Promise<string> => {
    const line = await Promise.race([lines.next(), exited]);
    if (line.done) throw new Error('opa-eval closed its output');
    return line.value;
  };
  const ask = async (cmd: string): Promise<unknown> => {
    child.stdin!.write(`${cmd}\n`);
    return JSON.parse(await next());
  };
  if ((await next()) !== 'ready') throw new Error('opa-eval did not start');
  return {
    answers: async () => (await ask('answers')) as unknown[],
    time: async (n) => ((await ask(`time ${n}`)) as number[]).sort((x, y) => x - y),
    stop: async () => {
      child.stdin!.end('quit\n');
      await exited.catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The policy's own fields of a decision (the server's answer adds its id and the policy revision). */
const policyPart = (d: any) => ({ allow: d.allow, violations: d.violations, obligations: d.obligations, limits: d.limits });

function sameDecisions(what: string, ours: unknown[], theirs: unknown[]): void {
  if (ours.length !== theirs.length) throw new Error(`${what}: ${ours.length} answers against ${theirs.length}`);
  ours.forEach((a, i) => {
    if (!isDeepStrictEqual(policyPart(a), policyPart(theirs[i]))) throw new Error(`${what} disagree on input ${i}:\n${JSON.stringify(a)}\n${JSON.stringify(theirs[i])}`);
  });
}

const OWNER: Actor = { tokenId: 'bench', name: 'bench-owner', role: 'owner', team: 'growth', approvalRoles: [], service: null };

/**
 * The live state our HTTP server holds for the `POST /v1/intents:evaluate` row, and the same
 * policy inputs built from it for OPA: two running experiments in the checkout layer (the
 * layer's room) and one running on `search`/`ranking_model` (a flag claim for the search-ranking
 * example). The inputs are built by the server's own code (`buildPolicyInput` on the seeded
 * database's `IntentStore`) from the very file the server is started on a copy of, so both sides
 * decide on the same live experiments.
 */
async function seedLive(c: Container): Promise<void> {
  const variants = [
    { key: 'control', weight: 1, value: false },
    { key: 'treatment', weight: 1, value: true },
  ];
  const live = [
    { key: 'layer-mate-a', services: [{ service: 'web', flag: 'layer_mate_a' }], layer: 'checkout', exposure: 10 },
    { key: 'layer-mate-b', services: [{ service: 'web', flag: 'layer_mate_b' }], layer: 'checkout', exposure: 10 },
    { key: 'ranking-holder', services: [{ service: 'search', flag: 'ranking_model' }], exposure: 5 },
  ];
  for (const body of live) {
    const r = await c.intents.submit({ owner: 'growth', variants, ...body }, OWNER);
    if (r.state !== 'running') throw new Error(`${body.key} is ${r.status}/${r.state}, not running`);
  }
}

/**
 * Section 1. One decision, like with like: the shipped policy in our engine (wasm in the sandbox
 * worker, as the server runs it) against OPA's own Go evaluator on the same policies/ in process,
 * on the same 48 inputs, answers checked equal first; beside it the same inputs asked of
 * `opa run --server` over loopback HTTP (OPA as a sidecar). Then our whole
 * `POST /v1/intents:evaluate` (HTTP, auth, validation, live context from SQLite, wasm) against OPA
 * over HTTP, with the same live experiments on both sides.
 */
export async function decisionBench(ports: { ours: number; opa: number }, seconds: number): Promise<Row[]> {
  const engine = await engineFromBundle();
  const inputs = await decisionInputs(new Date());
  const go = await startGoEvaluator(inputs);
  const opa = await startOpa(ports.opa);
  const opaBase = `http://127.0.0.1:${ports.opa}`;
  const opaCall = (input: PolicyInput): Call => ({ method: 'POST', path: '/v1/data/switchyard/decision', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  const opaAnswers = async (calls: Call[]) => Promise.all(calls.map(async (c) => (JSON.parse((await send(opaBase, c, new http.Agent())).body) as { result: unknown }).result));
  const c = await seedingContainer();
  try {
    // Same answers first: our engine, OPA's Go evaluator and OPA's server, on every input.
    const ours = inputs.map((input, i) => {
      const r = engine.evaluate(input);
      if (r.failedClosed) throw new Error(`our engine failed closed on input ${i}`);
      return r.decision;
    });
    sameDecisions('the wasm engine and OPA\'s Go evaluator', ours, await go.answers());
    const opaCalls = inputs.map(opaCall);
    sameDecisions('the wasm engine and opa run --server', ours, await opaAnswers(opaCalls));

    // V8 runs new wasm code on its baseline compiler and tiers functions up as they get hot; the
    // policy reaches its steady speed after about 10,000 evaluations. Go's evaluator gets as many.
    for (let i = 0; i < 20_000; i++) engine.evaluate(inputs[i % inputs.length]!);
    await go.time(20_000);
    await roundTrips(opaBase, opaCalls, 2_000);

    // Ten rounds, the three taking turns in alternating order: a busy neighbour slows all alike.
    const [inProcess, goNs, opaTrips] = (await alternate(10, [
      () => timeEach(2_000, (i) => engine.evaluate(inputs[i % inputs.length]!)),
      () => go.time(2_000),
      () => roundTrips(opaBase, opaCalls, 500, 0),
    ])) as [number[][], number[][], number[][]];
    const perSecond = (rounds: number[][]) => fromRounds(spread(rounds.map((ns) => (ns.length * 1e9) / ns.reduce((a, b) => a + b, 0))));

    // The HTTP row: the server on a copy of the seeded file, OPA given inputs built from that file.
    await seedLive(c);
    const store = c.storage.read.intents;
    const intents = [...new Set(inputs.map((i) => JSON.stringify(i.intent)))].map((text) => JSON.parse(text) as Record<string, unknown>);
    const actor = { name: OWNER.name, role: OWNER.role, team: OWNER.team! };
    const liveInputs = await Promise.all(intents.map((intent) => buildPolicyInput(parseIntent(intent), actor, new Date(), store)));
    const opaLiveCalls = liveInputs.map(opaCall);
    const http_ = await serveCopy(c, ports.ours, async (server) => {
      const { token } = await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: OWNER.name, role: 'owner', team: 'growth' });
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const ourCalls: Call[] = intents.map((intent) => ({ method: 'POST', path: '/v1/intents:evaluate', headers, body: JSON.stringify(intent) }));
      const served = await Promise.all(ourCalls.map(async (call) => (JSON.parse((await send(server.base, call, new http.Agent())).body) as { decision: unknown }).decision));
      sameDecisions('POST /v1/intents:evaluate and opa run --server (same live experiments)', served, await opaAnswers(opaLiveCalls));
      await load(server.base, ourCalls, 4);
      const [ourTrips, opaLiveTrips] = (await alternate(10, [() => roundTrips(server.base, ourCalls, 500, 0), () => roundTrips(opaBase, opaLiveCalls, 500, 0)])) as [number[][], number[][]];
      const [ourLoad, opaLoad] = await loadPair({ base: server.base, calls: ourCalls }, { base: opaBase, calls: opaLiveCalls }, seconds);
      return { ourTrips, opaLiveTrips, ourLoad, opaLoad, n: ourCalls.length };
    });

    const IN_PROCESS = 'one decision, in process: our wasm (sandbox worker) vs OPA\'s Go evaluator';
    const SIDECAR = 'one decision: ours in process vs OPA as a sidecar (REST round trip)';
    const HTTP = 'POST /v1/intents:evaluate (HTTP, full path) vs OPA over HTTP';
    return [
      ...latencyRows('decisions', IN_PROCESS, inProcess, { name: OPA_GO, ns: goNs }, `${inputs.length} inputs; answers checked equal; 10 alternating rounds`),
      {
        section: 'decisions',
        name: IN_PROCESS,
        metric: 'throughput',
        ...perSecond(inProcess),
        unit: 'decisions/s',
        peer: { name: OPA_GO, ...perSecond(goNs) },
        note: 'both one caller, back to back',
      },
      ...latencyRows('decisions', SIDECAR, inProcess, { name: OPA_SIDECAR, ns: opaTrips }, 'the same rounds; OPA adds loopback HTTP and JSON'),
      ...latencyRows('decisions', HTTP, http_.ourTrips, { name: OPA_SIDECAR, ns: http_.opaLiveTrips }, `${http_.n} intents, the same 3 live experiments both sides; answers checked equal; sequential, keep-alive`),
      ...loadRows('decisions', HTTP, http_.ourLoad, { name: OPA_SIDECAR, result: http_.opaLoad }),
    ];
  } finally {
    await dispose(c);
    await Promise.all([opa.stop(), go.stop()]);
  }
}

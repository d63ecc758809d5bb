import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import { parseIntent } from '../src/intents/intent-service.js';
import { parseBundle } from '../src/policy/policy-bundle.js';
import { LoadedBundle, PolicyEngine } from '../src/policy/policy-engine.js';
import { PolicySandbox } from '../src/policy/policy-sandbox.js';
import { buildPolicyInput, probeInput, type PolicyInput } from '../src/policy/policy-input.js';
import { LayerSpace, type LayerMember } from '../src/flags/layer-allocator.js';
import type { LiveFlagClaim } from '../src/intents/intent-store.js';
import { api, ADMIN, BUNDLE, latencyRows, load, loadRows, ROOT, roundTrips, startOpa, startServer, timeEach, type Call, type Row } from './lib.js';

/** The three README examples (pending approval, denied for three reasons, approved). */
export const EXAMPLES = ['checkout-redesign', 'denied', 'search-ranking'].map(
  (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', `${name}.json`), 'utf8')) as Record<string, any>,
);

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

const OPA_NAME = 'opa run --server';

/**
 * Section 1. The shipped policy evaluated in-process (wasm) against the same policies/ served by the
 * pinned `opa run --server`, on the same inputs; both answers are checked equal first. Then our
 * whole `POST /v1/intents:evaluate` (HTTP, auth, validation, live context from SQLite, wasm) against
 * the same OPA round trip.
 */
export async function decisionBench(ports: { ours: number; opa: number }, seconds: number): Promise<Row[]> {
  const engine = await engineFromBundle();
  const inputs = await decisionInputs(new Date());
  const opa = await startOpa(ports.opa);
  const opaBase = `http://127.0.0.1:${ports.opa}`;
  const server = await startServer(ports.ours);
  try {
    const opaCalls: Call[] = inputs.map((input) => ({
      method: 'POST',
      path: '/v1/data/switchyard/decision',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    }));
    for (const [i, input] of inputs.entries()) {
      const remote = (await (await fetch(opaBase + opaCalls[i]!.path, { method: 'POST', body: opaCalls[i]!.body })).json()) as { result: unknown };
      const local = engine.evaluate(input);
      if (local.failedClosed || !isDeepStrictEqual(remote.result, local.decision)) {
        throw new Error(`opa and the wasm engine disagree on input ${i}: ${JSON.stringify(remote.result)} vs ${JSON.stringify(local.decision)}`);
      }
    }

    // Our HTTP path: two running experiments in the checkout layer give it a live context to read.
    const { token } = await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-owner', role: 'owner', team: 'growth' });
    for (const key of ['layer-mate-a', 'layer-mate-b']) {
      await api(server.base, token, 'POST', '/v1/intents', {
        ...EXAMPLES[2],
        key,
        services: [{ service: 'web', flag: key.replace(/-/g, '_') }],
        layer: 'checkout',
        exposure: 10,
      });
    }
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const ourCalls: Call[] = inputs.map((input) => ({ method: 'POST', path: '/v1/intents:evaluate', headers, body: JSON.stringify(input.intent) }));

    // V8 runs new wasm code on its baseline compiler and tiers functions up as they get hot; the
    // policy reaches its steady speed after about 10,000 evaluations, in this process and in ours.
    for (let i = 0; i < 20_000; i++) engine.evaluate(inputs[i % inputs.length]!);
    await load(server.base, ourCalls, 4);

    // Latency: the three take turns over ten rounds, so a busy neighbour slows all of them alike.
    const inProcess: number[] = [];
    const opaTrips: number[] = [];
    const ourTrips: number[] = [];
    for (let round = 0; round < 10; round++) {
      inProcess.push(...timeEach(2_000, (i) => engine.evaluate(inputs[i % inputs.length]!)));
      opaTrips.push(...(await roundTrips(opaBase, opaCalls, 500, round ? 0 : 500)));
      ourTrips.push(...(await roundTrips(server.base, ourCalls, 500, round ? 0 : 500)));
    }
    for (const xs of [inProcess, opaTrips, ourTrips]) xs.sort((a, b) => a - b);
    const opaLoad = await load(opaBase, opaCalls, seconds);
    const ourLoad = await load(server.base, ourCalls, seconds);

    const busy = inProcess.reduce((a, b) => a + b, 0) / 1e9;
    return [
      ...latencyRows('decisions', 'one decision: in-process wasm vs OPA REST round trip', inProcess, { name: OPA_NAME, ns: opaTrips }, '48 inputs; answers checked equal'),
      {
        section: 'decisions',
        name: 'one decision: in-process wasm vs OPA REST round trip',
        metric: 'throughput',
        value: inProcess.length / busy,
        unit: 'decisions/s',
        peer: { name: OPA_NAME, value: opaLoad.rps },
        note: `ours: one thread, sequential; opa: autocannon${opaLoad.failed ? `, ${opaLoad.failed} failed` : ''}`,
      },
      ...latencyRows('decisions', 'POST /v1/intents:evaluate (HTTP, full path) vs OPA REST', ourTrips, { name: OPA_NAME, ns: opaTrips }, 'sequential, keep-alive'),
      ...loadRows('decisions', 'POST /v1/intents:evaluate (HTTP, full path) vs OPA REST', ourLoad, { name: OPA_NAME, result: opaLoad }),
    ];
  } finally {
    await Promise.all([opa.stop(), server.stop()]);
  }
}

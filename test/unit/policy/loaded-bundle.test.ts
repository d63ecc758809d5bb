import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PolicyError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { parseBundle, type PolicyBundle } from '../../../src/policy/policy-bundle.js';
import { describe as describeError, evaluateWith, LoadedBundle, PolicyEngine } from '../../../src/policy/policy-engine.js';
import { probeInput } from '../../../src/policy/policy-input.js';
import { InProcessRunner } from '../../../src/policy/policy-runner.js';
import { PolicySandbox } from '../../../src/policy/policy-sandbox.js';
import { buildModifiedBundle } from '../../helpers/bundles.js';
import { buildLoopingBundle } from '../../helpers/looping-bundle.js';
import { BUNDLE_PATH, OPA_BIN } from '../../helpers/paths.js';

/**
 * The engine's checks on a bundle, on this thread with the in-process runner and real bundles built
 * by the pinned opa. In the server these checks first run inside the policy-check worker thread
 * (where neither per-test coverage nor a mutation tool sees them), so they are held here too.
 */
const probe = probeInput(new Date('2026-12-01T00:00:00Z'));
const logger = createLogger('silent');
let real: PolicyBundle;

async function refusal(bundle: PolicyBundle): Promise<PolicyError> {
  const err = await LoadedBundle.load(bundle, probe, new InProcessRunner()).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PolicyError);
  return err as PolicyError;
}

beforeAll(async () => {
  real = await parseBundle(fs.readFileSync(BUNDLE_PATH));
});

/** Edits decision.rego in the copy of policies/ that buildModifiedBundle builds. */
const editDecision = (from: string, to: string) => (dir: string) => {
  const file = `${dir}/decision.rego`;
  const text = fs.readFileSync(file, 'utf8');
  const changed = text.replace(from, to);
  expect(changed).not.toBe(text);
  fs.writeFileSync(file, changed);
};

/** A catalog with the given services value, on the real wasm. */
const withServices = (services: unknown): PolicyBundle => {
  const data = structuredClone(real.data) as any;
  data.switchyard.catalog.services = services;
  return { ...real, revision: `sha256:services-${JSON.stringify(services).length}`, data };
};

describe('LoadedBundle.load', () => {
  it('loads the shipped policy and answers in the contract shape', async () => {
    const loaded = await LoadedBundle.load(real, probe, new InProcessRunner());
    expect(loaded.revision).toBe(real.revision);
    const d = loaded.evaluateRaw(probe);
    expect(typeof d.allow).toBe('boolean');
    expect(d.allow).toBe(d.violations.length === 0);
  });

  it('refuses (policy_invalid, 400) a bundle without the decision entrypoint, naming the ones it has', async () => {
    const renamed = (dir: string) => {
      const file = `${dir}/decision.rego`;
      const text = fs.readFileSync(file, 'utf8');
      const changed = text.replace('\ndecision := {', '\nanswer := {');
      expect(changed).not.toBe(text);
      fs.writeFileSync(file, changed);
    };
    const bundle = await parseBundle(buildModifiedBundle(renamed, 'other-entry', 'switchyard/answer'));
    const err = await refusal(bundle);
    expect(err).toMatchObject({ code: 'policy_invalid', status: 400 });
    expect(err.message).toBe('The policy has no entrypoint switchyard/decision (it has: switchyard/answer); build with -e switchyard/decision');
  });

  it('names every entrypoint a bundle without the decision one has, comma-separated (in the order opa lists them)', async () => {
    const renamed = (dir: string) => {
      const file = `${dir}/decision.rego`;
      const text = fs.readFileSync(file, 'utf8');
      const changed = text.replace('\ndecision := {', '\nanswer := {');
      expect(changed).not.toBe(text);
      fs.writeFileSync(file, changed);
    };
    const bundle = await parseBundle(buildModifiedBundle(renamed, 'two-entries', ['switchyard/answer', 'switchyard/allow']));
    const err = await refusal(bundle);
    expect(err).toMatchObject({ code: 'policy_invalid', status: 400 });
    expect(err.message).toBe('The policy has no entrypoint switchyard/decision (it has: switchyard/allow, switchyard/answer); build with -e switchyard/decision');
  });

  it('refuses a bundle whose answer to the probe has the wrong shape, and says which field', async () => {
    const bundle = await parseBundle(
      buildModifiedBundle((dir) => {
        const file = `${dir}/decision.rego`;
        const text = fs.readFileSync(file, 'utf8');
        const changed = text.replace('"allow": allow,', '"allow": "yes",');
        expect(changed).not.toBe(text);
        fs.writeFileSync(file, changed);
      }, 'bad-shape'),
    );
    const err = await refusal(bundle);
    expect(err).toMatchObject({ code: 'policy_invalid', status: 400 });
    expect(err.message).toMatch(/^The policy does not answer a probe intent: the decision has the wrong shape: allow: /);
  });

  it('names every wrong field of the answer by its full path', async () => {
    const bundle = await parseBundle(
      buildModifiedBundle(
        editDecision('"audit": audit.audit,', '"audit": {"level": 1, "retention_days": 400},'),
        'bad-nested',
      ),
    );
    const err = await refusal(bundle);
    expect(err.message).toMatch(/wrong shape: obligations\.audit\.level: [^;]+$/);
    const two = await parseBundle(
      buildModifiedBundle((dir) => {
        editDecision('"audit": audit.audit,', '"audit": {"level": 1, "retention_days": 400},')(dir);
        editDecision('"allow": allow,', '"allow": "yes",')(dir);
      }, 'bad-two'),
    );
    expect((await refusal(two)).message).toMatch(/wrong shape: (allow: [^;]+; obligations\.audit\.level: [^;]+|obligations\.audit\.level: [^;]+; allow: [^;]+)$/);
  });

  it('refuses violations without the fields every violation carries', async () => {
    const bundle = await parseBundle(
      buildModifiedBundle((dir) => {
        editDecision('"allow": allow,', '"allow": false,')(dir);
        editDecision('"violations": violations,', '"violations": [{"code": "x", "message": "m"}],')(dir);
      }, 'bad-violation'),
    );
    expect((await refusal(bundle)).message).toMatch(/wrong shape: violations\.0\.policy: [^;]+$/);
  });

  it('refuses obligations without an audit level or with a negative approval count', async () => {
    const noLevel = await parseBundle(buildModifiedBundle(editDecision('"audit": audit.audit,', '"audit": {"retention_days": 400},'), 'no-level'));
    expect((await refusal(noLevel)).message).toMatch(/wrong shape: obligations\.audit\.level: [^;]+$/);
    const negative = await parseBundle(
      buildModifiedBundle(editDecision('"approvals": audit.approvals,', '"approvals": [{"role": "sre", "count": -1}],'), 'negative'),
    );
    expect((await refusal(negative)).message).toMatch(/wrong shape: obligations\.approvals\.0\.count: [^;]+$/);
    const noRole = await parseBundle(buildModifiedBundle(editDecision('"approvals": audit.approvals,', '"approvals": [{"count": 1}],'), 'no-role'));
    expect((await refusal(noRole)).message).toMatch(/wrong shape: obligations\.approvals\.0\.role: [^;]+$/);
  });

  it("passes the policy's violations and obligations through whole", async () => {
    const loaded = await LoadedBundle.load(real, probe, new InProcessRunner());
    const d = loaded.evaluateRaw({
      ...probe,
      intent: { ...probe.intent, key: 'Bad Key', services: [{ service: 'payments', flag: 'pay_flag' }], exposure: 90 },
    });
    expect(d.allow).toBe(false);
    expect(d.violations.length).toBeGreaterThan(0);
    for (const v of d.violations) expect(v).toEqual(expect.objectContaining({ code: expect.any(String), policy: expect.any(String), message: expect.any(String) }));
    expect(d.obligations.audit).toEqual({ level: expect.any(String), retention_days: expect.any(Number) });
    expect(d.obligations.approvals.length).toBeGreaterThan(0);
    for (const a of d.obligations.approvals) expect(a).toEqual({ role: expect.any(String), count: expect.any(Number) });
  });

  it('refuses wasm that does not instantiate', async () => {
    const err = await refusal({ ...real, revision: 'sha256:broken', wasm: Buffer.from('not wasm at all') });
    expect(err).toMatchObject({ code: 'policy_invalid', status: 400 });
    expect(err.message).toMatch(/^The policy wasm does not load: /);
  });
});

describe('the service catalog a loaded bundle carries', () => {
  it('lists the catalog services sorted, with their tiers, and knows no inherited names', async () => {
    const catalog = (await LoadedBundle.load(real, probe, new InProcessRunner())).catalog();
    const services = Object.keys((real.data['switchyard'] as any).catalog.services).sort();
    expect(catalog.available).toBe(true);
    expect(catalog.services()).toEqual(services);
    expect(catalog.has('payments')).toBe(true);
    expect(catalog.has('constructor')).toBe(false);
    expect(catalog.has('nope')).toBe(false);
    expect(catalog.tiers().map((t) => t.service)).toEqual(services);
    expect(catalog.tiers()).toContainEqual({ service: 'payments', tier: 'critical' });
    expect(catalog.tiers()).toContainEqual({ service: 'web', tier: 'standard' });
  });

  it('sorts services whatever order the data lists them in', async () => {
    const services = Object.fromEntries(Object.entries((real.data['switchyard'] as any).catalog.services).reverse());
    const catalog = (await LoadedBundle.load(withServices(services), probe, new InProcessRunner())).catalog();
    const sorted = Object.keys(services).sort();
    expect(Object.keys(services)).not.toEqual(sorted);
    expect(catalog.services()).toEqual(sorted);
    expect(catalog.tiers().map((t) => t.service)).toEqual(sorted);
  });

  it.each([
    ['a list', ['web', 'search']],
    ['a string', 'web'],
    ['null', null],
  ])('has no services when the catalog services are %s, not an object', async (_what, services) => {
    const catalog = (await LoadedBundle.load(withServices(services), probe, new InProcessRunner())).catalog();
    expect(catalog.services()).toEqual([]);
    expect(catalog.has('0')).toBe(false);
  });

  it('knows no service when the policy carries no catalog at all (a custom policy that needs none)', async () => {
    // A policy of its own, built by the pinned opa, with no data: switchyard.catalog is absent, not empty.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-no-catalog-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'decision.rego'),
        'package switchyard\n\ndecision := {"allow": true, "violations": [], "obligations": {"approvals": [], "audit": {"level": "standard", "retention_days": 90}}, "limits": {}}\n',
      );
      const out = path.join(dir, 'bundle.tar.gz');
      execFileSync(OPA_BIN, ['build', '-t', 'wasm', '-e', 'switchyard/decision', '--revision', 'no-catalog', '-o', out, path.join(dir, 'decision.rego')], { stdio: 'pipe' });
      const bundle = await parseBundle(fs.readFileSync(out));
      expect(bundle.data['switchyard']).toBeUndefined();
      const catalog = (await LoadedBundle.load(bundle, probe, new InProcessRunner())).catalog();
      expect(catalog.available).toBe(true);
      expect(catalog.services()).toEqual([]);
      expect(catalog.tiers()).toEqual([]);
      expect(catalog.has('web')).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a null tier where the catalog has none', async () => {
    const data = structuredClone(real.data) as any;
    delete data.switchyard.catalog.services.web.tier;
    const catalog = (await LoadedBundle.load({ ...real, revision: 'sha256:no-tier', data }, probe, new InProcessRunner())).catalog();
    expect(catalog.tiers()).toContainEqual({ service: 'web', tier: null });
  });
});

describe('PolicyEngine', () => {
  it('with no policy, denies every intent with policy_unavailable and has no catalog', () => {
    const engine = new PolicyEngine(logger, new InProcessRunner());
    const ev = engine.evaluate(probe);
    expect(ev).toEqual({
      revision: 'none',
      failedClosed: true,
      decision: {
        allow: false,
        violations: [{ code: 'policy_unavailable', policy: 'engine', message: 'No policy bundle is loaded, so nothing can be allowed' }],
        obligations: { approvals: [], audit: { level: 'full', retention_days: 400 } },
        limits: {},
      },
    });
    expect(engine.revision()).toBeNull();
    expect(engine.catalog()).toMatchObject({ available: false });
    expect(engine.catalog().services()).toEqual([]);
    expect(engine.catalog().tiers()).toEqual([]);
    expect(engine.catalog().has('web')).toBe(false);
  });

  it("returns the policy's own answer, not failed closed, when it evaluates", async () => {
    const runner = new InProcessRunner();
    const engine = new PolicyEngine(logger, runner);
    engine.activate(await LoadedBundle.load(real, probe, runner));
    const ev = engine.evaluate(probe);
    expect(ev.failedClosed).toBe(false);
    expect(ev.revision).toBe(real.revision);
    expect(engine.revision()).toBe(real.revision);
  });

  it('fails closed with policy_error, naming the cause, when an evaluation throws', async () => {
    const runner = new InProcessRunner();
    const loaded = await LoadedBundle.load(real, probe, runner);
    runner.forget(real.revision);
    const ev = evaluateWith(loaded, probe, logger);
    expect(ev.failedClosed).toBe(true);
    expect(ev.revision).toBe(real.revision);
    expect(ev.decision.allow).toBe(false);
    expect(ev.decision.violations).toEqual([
      { code: 'policy_error', policy: 'engine', message: `The policy failed to evaluate: revision ${real.revision} is not loaded` },
    ]);
  });

  it('keeps the 8 most recent revisions for replays, never dropping the active one, and frees the others', async () => {
    const runner = new InProcessRunner();
    const engine = new PolicyEngine(logger, runner);
    const revs = Array.from({ length: 11 }, (_, i) => `sha256:rev-${i}`);
    const loaded = [];
    for (const revision of revs) loaded.push(await LoadedBundle.load({ ...real, revision }, probe, runner));
    engine.activate(loaded[0]!);
    for (const l of loaded.slice(1)) engine.remember(l);
    // rev-0 is active, so it stays; rev-1..rev-3 are the oldest others and go.
    expect(revs.filter((r) => engine.loaded(r) !== undefined)).toEqual([revs[0], ...revs.slice(4)]);
    expect(() => runner.evaluate(revs[1]!, probe)).toThrow(/is not loaded/);
    expect(() => runner.evaluate(revs[4]!, probe)).not.toThrow();
    expect(engine.current()).toBe(loaded[0]);
    // Remembering a revision again makes it the newest.
    engine.remember(loaded[4]!);
    engine.remember(await LoadedBundle.load({ ...real, revision: 'sha256:rev-11' }, probe, runner));
    expect(engine.loaded(revs[4]!)).toBeDefined();
    expect(engine.loaded(revs[5]!)).toBeUndefined();
  });
});

describe('PolicyEngine, more', () => {
  it('keeps 8 revisions when none is active yet', async () => {
    const runner = new InProcessRunner();
    const engine = new PolicyEngine(logger, runner);
    for (let i = 0; i < 9; i++) engine.remember(await LoadedBundle.load({ ...real, revision: `sha256:r${i}` }, probe, runner));
    expect(engine.loaded('sha256:r0')).toBeUndefined();
    expect(engine.loaded('sha256:r1')).toBeDefined();
    expect(engine.current()).toBeNull();
  });

  it('fails closed, and logs why, when the policy leaves the decision undefined for an input', async () => {
    const bundle = await parseBundle(
      buildModifiedBundle((dir) => {
        editDecision('\ndecision := {', '\ndecision := d if {\n\tinput.intent.key != "no-answer"\n\td := {')(dir);
        editDecision('"limits": {"max_exposure": lib.max_exposure},\n}', '"limits": {"max_exposure": lib.max_exposure},\n\t}\n}')(dir);
      }, 'undefined-for-one'),
    );
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const runner = new InProcessRunner();
    const loaded = await LoadedBundle.load(bundle, probe, runner);
    const ev = evaluateWith(loaded, { ...probe, intent: { ...probe.intent, key: 'no-answer' } }, createLogger('error', sink));
    expect(ev).toMatchObject({ failedClosed: true, revision: bundle.revision, decision: { allow: false } });
    expect(ev.decision.violations).toEqual([
      { code: 'policy_error', policy: 'engine', message: 'The policy failed to evaluate: the decision rule is undefined for this input' },
    ]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'policy evaluation failed; denying',
      revision: bundle.revision,
      err: { message: 'the decision rule is undefined for this input' },
    });
  });
});

describe('deadlines, in the sandbox worker', () => {
  const sandbox = new PolicySandbox({ timeoutMs: 300, loadTimeoutMs: 20_000, logger });
  afterAll(() => sandbox.close());
  /** A fresh worker's first answer may take its boot too (10 s more): have it answer once first. */
  const warm = async () => {
    await LoadedBundle.load(real, probe, sandbox);
    sandbox.evaluate(real.revision, probe);
  };

  it('refuses (policy_timeout, 422) a bundle that does not answer its probe within the deadline', async () => {
    const bundle = await parseBundle(buildLoopingBundle('input.intent.key == "probe-intent"', 'spin-probe'));
    await warm();
    const err = await LoadedBundle.load(bundle, probe, sandbox).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyError);
    expect(err).toMatchObject({ code: 'policy_timeout', status: 422 });
    expect((err as Error).message).toBe(
      'The policy bundle did not answer a probe intent within 300 ms (SWITCHYARD_POLICY_*_TIMEOUT_MS); it is refused and the active policy stays',
    );
  });

  it('refuses (policy_timeout, 422) a bundle that does not load within the deadline', async () => {
    // The load deadline is a timer in this thread; it is made to pass (a fake clock, the only mock)
    // before the worker can answer: the worker's reply needs this thread's event loop, which has not run yet.
    await warm();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let loading: Promise<unknown>;
    try {
      loading = LoadedBundle.load({ ...real, revision: 'sha256:slow-load' }, probe, sandbox).then(
        () => null,
        (e: unknown) => e,
      );
      vi.advanceTimersByTime(20_000);
    } finally {
      vi.useRealTimers();
    }
    const err = await loading;
    expect(err).toBeInstanceOf(PolicyError);
    expect(err).toMatchObject({ code: 'policy_timeout', status: 422 });
    expect((err as Error).message).toBe(
      'The policy bundle did not load within 20000 ms (SWITCHYARD_POLICY_*_TIMEOUT_MS); it is refused and the active policy stays',
    );
  });

  it('denies with policy_timeout an evaluation past the deadline, and logs it with the revision and the deadline', async () => {
    const bundle = await parseBundle(buildLoopingBundle('input.intent.key == "spin"', 'spin-some'));
    const loaded = await LoadedBundle.load(bundle, probe, sandbox);
    await warm();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const ev = evaluateWith(loaded, { ...probe, intent: { ...probe.intent, key: 'spin' } }, createLogger('error', sink));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50, msg: 'policy evaluation passed its deadline; denying', revision: bundle.revision, timeoutMs: 300 });
    expect(ev).toEqual({
      revision: bundle.revision,
      failedClosed: true,
      decision: {
        allow: false,
        violations: [{ code: 'policy_timeout', policy: 'engine', message: 'The policy did not answer within 300 ms, so nothing is allowed' }],
        obligations: { approvals: [], audit: { level: 'full', retention_days: 400 } },
        limits: {},
      },
    });
  });
});

describe('describe (error text from the opa-wasm SDK)', () => {
  it('reads Error objects, strings, plain objects and what JSON cannot write', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('a string')).toBe('a string');
    expect(describeError({ code: 'x', n: 1 })).toBe('{"code":"x","n":1}');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(describeError(circular)).toBe('[object Object]');
  });
});

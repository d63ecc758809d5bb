import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createContainer, type Container } from '../../../src/container.js';
import { createLogger } from '../../../src/logger.js';
import { auditOf, flagOf, ingestErrorRates, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';
import { simpleIntent } from '../../helpers/harness.js';
import { BUNDLE_PATH } from '../../helpers/paths.js';

/**
 * The scheduler's re-checks (Lifecycle.tick): the due lists are read outside any transaction, and
 * each due experiment is read again inside its own, so a transition that another tick or another
 * instance made in between is never made twice, and one that no longer applies is not made at all.
 * Two ticks at once on one container (both lists are read before either unit runs), and a second
 * container on the same SQLite file (a second instance) acting between the first one's listing and
 * its unit.
 */
describe('the scheduler re-reads what it found due, inside the transaction', () => {
  let d: Domain;
  /** A second instance: its own container on the same SQLite file and the same clock. */
  let other: Container;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await other?.close();
    await d?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const at = (ms: number) => new Date(d.clock.now().getTime() + ms).toISOString();
  const typesOf = async (key: string) => (await auditOf(d.c, key)).map((e) => e.type);
  const secondInstance = async (): Promise<Container> => {
    other ??= await createContainer({
      dbPath: path.join(d.dir, 'db.sqlite'),
      policyBundlePath: BUNDLE_PATH,
      clock: d.clock,
      logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    });
    return other;
  };
  /** Runs `between` after this container's scheduler has read its due list and before any of its units; returns what it listed. */
  const afterListing = (c: Container, between: () => Promise<void>) => {
    const store = c.storage.read.intents;
    const original = store.listDue.bind(store);
    let listed: string[] = [];
    vi.spyOn(store, 'listDue').mockImplementationOnce(async (now: string) => {
      const due = await original(now);
      listed = due.map((e) => e.key);
      await between();
      return due;
    });
    return () => listed;
  };
  /** Records the keys each of this container's due listings returned (to show both ticks listed it before either moved it). */
  const listings = (c: Container) => {
    const store = c.storage.read.intents;
    const original = store.listDue.bind(store);
    const seen: string[][] = [];
    vi.spyOn(store, 'listDue').mockImplementation(async (now: string) => {
      const due = await original(now);
      seen.push(due.map((e) => e.key));
      return due;
    });
    return seen;
  };

  describe('two ticks at once', () => {
    it('start a due experiment once: the second finds it running and leaves it (no end: not expired)', async () => {
      const start = at(HOUR);
      await d.c.intents.submit(webIntent('twice-start', { schedule: { start } }), alice);
      d.clock.set(start);
      const seen = listings(d.c);
      const [a, b] = await Promise.all([d.c.lifecycle.tick(), d.c.lifecycle.tick()]);
      expect(seen).toEqual([['twice-start'], ['twice-start']]);
      expect([...a.started, ...b.started]).toEqual(['twice-start']);
      expect([...a.expired, ...b.expired]).toEqual([]);
      expect([a.lagMs, b.lagMs]).toEqual([0, 0]);
      expect(await d.c.intents.get('twice-start')).toMatchObject({ state: 'running', active_version: 1 });
      expect((await typesOf('twice-start')).filter((t) => t === 'started' || t === 'expired')).toEqual(['started']);
    });

    it('start a due experiment with its end ahead once, and never expire it before that end', async () => {
      const start = at(HOUR);
      const end = at(3 * HOUR);
      await d.c.intents.submit(webIntent('twice-window', { schedule: { start, end } }), alice);
      d.clock.set(start);
      const seen = listings(d.c);
      const [a, b] = await Promise.all([d.c.lifecycle.tick(), d.c.lifecycle.tick()]);
      expect(seen).toEqual([['twice-window'], ['twice-window']]);
      expect([...a.started, ...b.started]).toEqual(['twice-window']);
      expect([...a.expired, ...b.expired]).toEqual([]);
      expect(await d.c.intents.get('twice-window')).toMatchObject({ state: 'running' });
      expect((await typesOf('twice-window')).filter((t) => t === 'started' || t === 'expired')).toEqual(['started']);
      // Nothing of this test stays due for the next ones (the lag a tick reports is over everything due).
      await d.c.lifecycle.act('twice-window', 'complete', 'done', oscar);
    });

    it('expire an experiment at its end once; the second reports no lag for what it no longer found due', async () => {
      const end = at(HOUR);
      await d.c.intents.submit(webIntent('twice-end', { schedule: { end } }), alice);
      d.clock.set(new Date(new Date(end).getTime() + 5000));
      const seen = listings(d.c);
      const [a, b] = await Promise.all([d.c.lifecycle.tick(), d.c.lifecycle.tick()]);
      expect(seen).toEqual([['twice-end'], ['twice-end']]);
      expect([...a.expired, ...b.expired]).toEqual(['twice-end']);
      // The first came 5 s after the end; the second found it completed (no due time) and measured nothing.
      expect([a.lagMs, b.lagMs]).toEqual([5000, 0]);
      expect((await typesOf('twice-end')).filter((t) => t === 'expired')).toEqual(['expired']);
    });
  });

  describe('a second instance acts between the listing and the unit', () => {
    it('a new version with a later end, approved there, keeps the experiment running here', async () => {
      const b = await secondInstance();
      const end = at(HOUR);
      await d.c.intents.submit(webIntent('moved-end', { schedule: { end } }), alice);
      d.clock.set(end);
      const listed = afterListing(d.c, async () => {
        await b.intents.update('moved-end', webIntent('moved-end', { schedule: { end: at(5 * HOUR) } }), alice);
      });
      const t = await d.c.lifecycle.tick();
      expect(listed()).toContain('moved-end');
      expect(t.expired).not.toContain('moved-end');
      expect(t.lagMs).toBe(0);
      expect(await d.c.intents.get('moved-end')).toMatchObject({ state: 'running', active_version: 2 });
      expect(await typesOf('moved-end')).not.toContain('expired');
    });

    it('an experiment completed there is left alone here, and adds no lag', async () => {
      const b = await secondInstance();
      const end = at(HOUR);
      await d.c.intents.submit(webIntent('done-there', { schedule: { end } }), alice);
      d.clock.set(new Date(new Date(end).getTime() + 7000));
      const listed = afterListing(d.c, async () => {
        await b.lifecycle.act('done-there', 'complete', 'by hand', oscar);
      });
      const t = await d.c.lifecycle.tick();
      expect(listed()).toContain('done-there');
      expect(t.expired).not.toContain('done-there');
      expect(t.lagMs).toBe(0);
      expect((await typesOf('done-there')).filter((x) => x === 'completed' || x === 'expired')).toEqual(['completed']);
    });
  });
});

/** Automatic advance (SPEC §10) under the same races, and through every stage. */
describe('the automatic advance re-reads the progress inside the transaction', () => {
  let d: Domain;
  let other: Container;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await other?.close();
    await d?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const rollout = (key: string, stages: { exposure: number; hold?: string }[]) =>
    simpleIntent(key, {
      services: [{ service: 'recommendations', flag: flagOf(key) }],
      exposure: stages[stages.length - 1]!.exposure,
      rollout: { guardrails: [{ metric: 'error_rate', max_regression: 0.1 }], stages, auto_advance: true },
    });
  const view = async (key: string) => (await d.c.intents.get(key)).rollout;
  const advancedEvents = async (key: string) => (await auditOf(d.c, key)).filter((e) => e.type === 'advanced');

  /** Healthy telemetry (both arms err at 5 %) for the units the served document exposes. */
  const healthy = async (key: string, prefix: string) => {
    await ingestErrorRates(d, key, { units: 3000, base: 0.05, ratio: 1, seed: 5, prefix });
    expect(await d.c.analysis.status(key)).toBe('healthy');
  };

  it('moves through every stage, one per due tick, from the stage it is at (never back to stage 0)', async () => {
    const key = 'three-steps';
    await d.c.intents.submit(rollout(key, [{ exposure: 40, hold: 'PT1H' }, { exposure: 70, hold: 'PT1H' }, { exposure: 100 }]), alice);
    await healthy(key, 's');
    d.clock.advance(HOUR);
    expect((await d.c.lifecycle.tick()).advanced).toEqual([key]);
    expect(await view(key)).toMatchObject({ stage: 1, exposure: 70 });
    d.clock.advance(HOUR);
    expect((await d.c.lifecycle.tick()).advanced).toEqual([key]);
    expect(await view(key)).toMatchObject({ stage: 2, exposure: 100, status: 'complete' });
    expect((await advancedEvents(key)).map((e) => [e.actor, e.data['from_stage'], e.data['to_stage']])).toEqual([
      ['system:scheduler', 0, 1],
      ['system:scheduler', 1, 2],
    ]);
    d.clock.advance(HOUR);
    expect((await d.c.lifecycle.tick()).advanced).toEqual([]);
  });

  it('two ticks at once advance a due stage once: the second finds the next stage holding', async () => {
    const key = 'two-ticks';
    await d.c.intents.submit(rollout(key, [{ exposure: 40, hold: 'PT1H' }, { exposure: 70, hold: 'PT1H' }, { exposure: 100 }]), alice);
    await healthy(key, 't');
    d.clock.advance(HOUR);
    // Both ticks list it as due before either advances it.
    const store = d.c.storage.read.rollouts;
    const original = store.listAutoDue.bind(store);
    const seen: string[][] = [];
    vi.spyOn(store, 'listAutoDue').mockImplementation(async (now: string) => {
      const due = await original(now);
      seen.push(due);
      return due;
    });
    const [a, b] = await Promise.all([d.c.lifecycle.tick(), d.c.lifecycle.tick()]);
    expect(seen).toEqual([[key], [key]]);
    expect([...a.advanced, ...b.advanced]).toEqual([key]);
    expect(await view(key)).toMatchObject({ stage: 1, status: 'holding' });
    expect(await advancedEvents(key)).toHaveLength(1);
  });

  it('a rollout paused by a second instance after the listing is not advanced here', async () => {
    const key = 'paused-there';
    other ??= await createContainer({
      dbPath: path.join(d.dir, 'db.sqlite'),
      policyBundlePath: BUNDLE_PATH,
      clock: d.clock,
      logger: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    });
    await d.c.intents.submit(rollout(key, [{ exposure: 40 }, { exposure: 100 }]), alice);
    await healthy(key, 'p');
    const store = d.c.storage.read.rollouts;
    const original = store.listAutoDue.bind(store);
    let listed: string[] = [];
    vi.spyOn(store, 'listAutoDue').mockImplementationOnce(async (now: string) => {
      listed = await original(now);
      await other.lifecycle.act(key, 'pause', 'incident', oscar);
      return listed;
    });
    const t = await d.c.lifecycle.tick();
    expect(listed).toContain(key);
    expect(t.advanced).not.toContain(key);
    expect(await d.c.intents.get(key)).toMatchObject({ state: 'paused', rollout: { stage: 0 } });
    expect(await advancedEvents(key)).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, criticalIntent, docVersion, flagIn, flagOf, openDomain, outcomeOf, people, type Domain } from '../../helpers/domain.js';

/**
 * The experiment state machine (SPEC §4, §10 "Advance" and "Ship") in one table: every state an
 * experiment can be in, every action a person or the clock can take on it, and what follows (the new
 * `state@active_version`, or the 409 code). Domain calls on a real SQLite file and the real compiled
 * policy; no server.
 *
 * Every fixture is the same intent on `checkout-api` (critical: 1 sre approval), a two-stage rollout
 * (1 % then 2 %, no hold) and `schedule.end` ten days after its submission; `scheduled` also has a
 * start one day after. A refused action changes nothing: not the state, not the audit trail, not a
 * flags document.
 */

const DAY = 86_400_000;

type State = 'draft' | 'scheduled' | 'running' | 'paused' | 'shipped' | 'completed' | 'archived' | 'rolled back to draft';
type ActionName = 'submit' | 'approve' | 'pause' | 'resume' | 'rollback' | 'complete' | 'advance' | 'ship' | 'archive' | 'start (tick)' | 'end (tick)';

// prettier-ignore
const TABLE: [State, ActionName, string][] = [
  // state                  action          outcome: state@active_version, or 409 code
  ['draft',                 'submit',       'draft@-'],
  ['draft',                 'approve',      'running@1'],
  ['draft',                 'pause',        '409 invalid_transition'],
  ['draft',                 'resume',       '409 invalid_transition'],
  ['draft',                 'rollback',     '409 invalid_transition'],
  ['draft',                 'complete',     'completed@-'],
  ['draft',                 'advance',      '409 invalid_transition'],
  ['draft',                 'ship',         '409 invalid_transition'],
  ['draft',                 'archive',      'archived@-'],
  ['draft',                 'start (tick)', 'draft@-'],
  ['draft',                 'end (tick)',   'draft@-'],

  ['scheduled',             'submit',       'scheduled@1'],
  ['scheduled',             'approve',      '409 not_pending_approval'],
  ['scheduled',             'pause',        '409 invalid_transition'],
  ['scheduled',             'resume',       '409 invalid_transition'],
  ['scheduled',             'rollback',     'draft@-'],
  ['scheduled',             'complete',     'completed@1'],
  ['scheduled',             'advance',      '409 invalid_transition'],
  ['scheduled',             'ship',         '409 invalid_transition'],
  ['scheduled',             'archive',      '409 invalid_transition'],
  ['scheduled',             'start (tick)', 'running@1'],
  ['scheduled',             'end (tick)',   'completed@1'],

  ['running',               'submit',       'running@1'],
  ['running',               'approve',      '409 not_pending_approval'],
  ['running',               'pause',        'paused@1'],
  ['running',               'resume',       '409 invalid_transition'],
  ['running',               'rollback',     'draft@-'],
  ['running',               'complete',     'completed@1'],
  ['running',               'advance',      'running@1'],
  ['running',               'ship',         'running@1'],
  ['running',               'archive',      '409 invalid_transition'],
  ['running',               'start (tick)', 'running@1'],
  ['running',               'end (tick)',   'completed@1'],

  ['paused',                'submit',       'paused@1'],
  ['paused',                'approve',      '409 not_pending_approval'],
  ['paused',                'pause',        '409 invalid_transition'],
  ['paused',                'resume',       'running@1'],
  ['paused',                'rollback',     'draft@-'],
  ['paused',                'complete',     'completed@1'],
  ['paused',                'advance',      '409 invalid_transition'],
  ['paused',                'ship',         'paused@1'],
  ['paused',                'archive',      '409 invalid_transition'],
  ['paused',                'start (tick)', 'paused@1'],
  ['paused',                'end (tick)',   'completed@1'],

  ['shipped',               'submit',       'shipped@2'],
  ['shipped',               'approve',      '409 not_pending_approval'],
  ['shipped',               'pause',        '409 invalid_transition'],
  ['shipped',               'resume',       '409 invalid_transition'],
  ['shipped',               'rollback',     'running@1'],
  ['shipped',               'complete',     'completed@2'],
  ['shipped',               'advance',      '409 invalid_transition'],
  ['shipped',               'ship',         '409 invalid_transition'],
  ['shipped',               'archive',      '409 invalid_transition'],
  ['shipped',               'start (tick)', 'shipped@2'],
  ['shipped',               'end (tick)',   'shipped@2'],

  ['completed',             'submit',       '409 experiment_completed'],
  ['completed',             'approve',      '409 not_pending_approval'],
  ['completed',             'pause',        '409 invalid_transition'],
  ['completed',             'resume',       '409 invalid_transition'],
  ['completed',             'rollback',     '409 invalid_transition'],
  ['completed',             'complete',     '409 invalid_transition'],
  ['completed',             'advance',      '409 invalid_transition'],
  ['completed',             'ship',         '409 invalid_transition'],
  ['completed',             'archive',      '409 invalid_transition'],
  ['completed',             'start (tick)', 'completed@1'],
  ['completed',             'end (tick)',   'completed@1'],

  ['archived',              'submit',       '409 invalid_transition'],
  ['archived',              'approve',      '409 not_pending_approval'],
  ['archived',              'pause',        '409 invalid_transition'],
  ['archived',              'resume',       '409 invalid_transition'],
  ['archived',              'rollback',     '409 invalid_transition'],
  ['archived',              'complete',     '409 invalid_transition'],
  ['archived',              'advance',      '409 invalid_transition'],
  ['archived',              'ship',         '409 invalid_transition'],
  ['archived',              'archive',      '409 invalid_transition'],
  ['archived',              'start (tick)', 'archived@-'],
  ['archived',              'end (tick)',   'archived@-'],

  // The only approved version rolled back: nothing drives the flags, the experiment is a draft again.
  ['rolled back to draft',  'submit',       'draft@-'],
  ['rolled back to draft',  'approve',      '409 not_pending_approval'],
  ['rolled back to draft',  'pause',        '409 invalid_transition'],
  ['rolled back to draft',  'resume',       '409 invalid_transition'],
  ['rolled back to draft',  'rollback',     '409 invalid_transition'],
  ['rolled back to draft',  'complete',     'completed@-'],
  ['rolled back to draft',  'advance',      '409 invalid_transition'],
  ['rolled back to draft',  'ship',         '409 invalid_transition'],
  ['rolled back to draft',  'archive',      '409 invalid_transition'],
  ['rolled back to draft',  'start (tick)', 'draft@-'],
  ['rolled back to draft',  'end (tick)',   'draft@-'],
];

describe('the lifecycle state machine, state × action', () => {
  let d: Domain;
  let n = 0;
  const { alice, sam, oscar } = people;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  const intentAt = (key: string, scheduled: boolean, extra: Record<string, unknown> = {}) => {
    const now = d.clock.now().getTime();
    return criticalIntent(key, {
      rollout: { stages: [{ exposure: 1 }, { exposure: 2 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] },
      schedule: {
        ...(scheduled ? { start: new Date(now + DAY).toISOString() } : {}),
        end: new Date(now + 10 * DAY).toISOString(),
      },
      ...extra,
    });
  };

  /** A new experiment brought into `state` the way a user would. */
  const reach = async (state: State): Promise<string> => {
    const key = `sm-${++n}`;
    const c = d.c;
    await c.intents.submit(intentAt(key, state === 'scheduled'), alice);
    if (state === 'draft') return key;
    if (state === 'archived') {
      await c.intents.archive(key, alice);
      return key;
    }
    await c.intents.approve(key, sam);
    if (state === 'paused') await c.lifecycle.act(key, 'pause', 'hold on', oscar);
    if (state === 'shipped') {
      await c.intents.ship(key, 'treatment', 'it wins', oscar);
      await c.intents.approve(key, sam);
    }
    if (state === 'completed') await c.lifecycle.act(key, 'complete', 'done', oscar);
    if (state === 'rolled back to draft') await c.lifecycle.act(key, 'rollback', 'undo', oscar);
    const got = (await c.intents.get(key)).state;
    expect(got, `fixture for ${state}`).toBe(state === 'rolled back to draft' ? 'draft' : state);
    return key;
  };

  const apply = async (key: string, action: ActionName) => {
    const c = d.c;
    switch (action) {
      case 'submit':
        return c.intents.update(key, intentAt(key, false, { description: 'the next version' }), alice);
      case 'approve':
        return c.intents.approve(key, sam);
      case 'ship':
        return c.intents.ship(key, 'treatment', 'it wins', oscar);
      case 'archive':
        return c.intents.archive(key, alice);
      case 'start (tick)':
        d.clock.advance(DAY + 60_000);
        return c.lifecycle.tick();
      case 'end (tick)':
        d.clock.advance(11 * DAY);
        return c.lifecycle.tick();
      default:
        return c.lifecycle.act(key, action, `${action} it`, oscar);
    }
  };

  it.each(TABLE)('%s × %s → %s', async (state, action, expected) => {
    const key = await reach(state);
    const c = d.c;
    const before = await c.intents.get(key);
    const events = (await auditOf(c, key)).length;
    const doc = await docVersion(c, 'checkout-api');

    const outcome = await outcomeOf(() => apply(key, action));
    const after = await c.intents.get(key);
    const got = outcome === 'accepted' ? `${after.state}@${after.active_version ?? '-'}` : `${outcome.status} ${outcome.code}`;
    expect(got).toBe(expected);

    if (outcome !== 'accepted') {
      // A refusal changes nothing.
      expect(after).toEqual(before);
      expect((await auditOf(c, key)).length).toBe(events);
      expect(await docVersion(c, 'checkout-api')).toBe(doc);
    }
  });

  it('the table covers every state and every action', () => {
    const states = new Set(TABLE.map((r) => r[0]));
    const actions = new Set(TABLE.map((r) => r[1]));
    expect(states.size * actions.size).toBe(TABLE.length);
    expect(new Set(TABLE.map((r) => `${r[0]}|${r[1]}`)).size).toBe(TABLE.length);
  });

  describe('what each accepted transition serves', () => {
    const served = async (key: string) => {
      const f = await flagIn(d.c, 'checkout-api', flagOf(key));
      return f && { state: f.state, default_variant: f.default_variant, slice: [f.allocation.exposure.start, f.allocation.exposure.end] };
    };

    it('approved: stage 0 of the rollout is served, ENABLED', async () => {
      const key = await reach('running');
      expect(await served(key)).toEqual({ state: 'ENABLED', default_variant: 'control', slice: [0, 100] });
    });

    it('advance: the next stage is served (a new document version), and the rollout says so', async () => {
      const key = await reach('running');
      await d.c.lifecycle.act(key, 'advance', 'looks fine', oscar);
      expect(await served(key)).toEqual({ state: 'ENABLED', default_variant: 'control', slice: [0, 200] });
      expect((await d.c.intents.get(key)).rollout).toMatchObject({ stage: 1, stages: 2, exposure: 2, status: 'complete' });
    });

    it('pause: DISABLED at the same slice; resume: ENABLED again', async () => {
      const key = await reach('running');
      await d.c.lifecycle.act(key, 'pause', 'incident', oscar);
      expect(await served(key)).toEqual({ state: 'DISABLED', default_variant: 'control', slice: [0, 100] });
      await d.c.lifecycle.act(key, 'resume', 'fixed', oscar);
      expect(await served(key)).toEqual({ state: 'ENABLED', default_variant: 'control', slice: [0, 100] });
    });

    it('ship approved: the variant is every unit\'s default, through an empty slice', async () => {
      const key = await reach('shipped');
      const f = await served(key);
      expect(f).toMatchObject({ state: 'ENABLED', default_variant: 'treatment' });
      expect(f!.slice[0]).toBe(f!.slice[1]);
    });

    it('complete, rollback to nothing, scheduled and draft: the experiment serves no flag', async () => {
      for (const s of ['completed', 'rolled back to draft', 'scheduled', 'draft'] as const) {
        const key = await reach(s);
        expect(await served(key), s).toBeUndefined();
      }
    });
  });
});

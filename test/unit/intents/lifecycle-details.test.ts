import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent } from '../../helpers/harness.js';
import { auditOf, errorOf, flagIn, flagOf, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';

/**
 * What each transition records besides its new state: the refusal a client reads (code, message,
 * details), the cause on the change feed, the flag's provenance and allocation, the audit event's
 * fields; and the edges of the clock (a due time exactly now). Each test uses keys of its own.
 */
describe('lifecycle details', () => {
  let d: Domain;
  const { alice, sam, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  const at = (ms: number) => new Date(d.clock.now().getTime() + ms).toISOString();
  /** The change feed's entries for one experiment on one service. */
  const feed = async (service: string, key: string) => (await d.c.flags.events(0, service, 100_000)).filter((e) => e.cause.experiment === key);

  describe('refusals a client reads', () => {
    it('invalid_transition names the action and the state, in the message and the details', async () => {
      await d.c.intents.submit(webIntent('ended'), alice);
      await d.c.lifecycle.act('ended', 'complete', 'done', oscar);
      for (const action of ['pause', 'resume', 'rollback', 'complete', 'advance'] as const) {
        const err = await errorOf(() => d.c.lifecycle.act('ended', action, 'x', oscar));
        expect(err.code, action).toBe('invalid_transition');
        expect(err.message).toBe(`Cannot ${action} experiment ended: it is completed`);
        expect(err.details).toEqual({ state: 'completed', action });
      }
    });

    it('flag_conflict on rollback lists every flag taken and by whom', async () => {
      const two = [{ service: 'web', flag: 'taken_a' }, { service: 'web', flag: 'taken_b' }];
      await d.c.intents.submit(webIntent('first', { services: two }), alice);
      await d.c.intents.update('first', webIntent('first', { services: [{ service: 'web', flag: 'elsewhere' }] }), alice);
      await d.c.intents.submit(webIntent('second', { services: two }), alice);
      const err = await errorOf(() => d.c.lifecycle.act('first', 'rollback', 'undo', oscar));
      expect(err.code).toBe('flag_conflict');
      expect(err.message).toBe('Cannot roll back first to version 1: web/taken_a is driven by second; web/taken_b is driven by second');
    });

    it('layer_capacity on rollback names the layer, the version and the key', async () => {
      await d.c.intents.submit(webIntent('roomy', { layer: 'tight', exposure: 30 }), alice);
      await d.c.intents.update('roomy', webIntent('roomy', { layer: 'tight', exposure: 10 }), alice);
      await d.c.intents.submit(simpleIntent('hog', { services: [{ service: 'recommendations', flag: 'hog' }], layer: 'tight', exposure: 90 }), alice);
      const err = await errorOf(() => d.c.lifecycle.act('roomy', 'rollback', 'undo', oscar));
      expect(err).toMatchObject({ code: 'layer_capacity', status: 409 });
      expect(err.message).toBe('Layer tight has no room left for version 1 of roomy');
    });

    it('hold_not_elapsed names the stage and when its hold ends', async () => {
      const intent = simpleIntent('held', {
        services: [{ service: 'recommendations', flag: 'held' }],
        exposure: 20,
        rollout: { stages: [{ exposure: 10, hold: 'PT2H' }, { exposure: 20 }] },
      });
      await d.c.intents.submit(intent, alice);
      const until = at(2 * HOUR);
      const err = await errorOf(() => d.c.lifecycle.act('held', 'advance', 'x', alice));
      expect(err.message).toBe(`Stage 0 of held holds until ${until}`);
    });

    it('an unknown key is intent_not_found, naming the key', async () => {
      const err = await errorOf(() => d.c.lifecycle.act('nope', 'pause', 'x', oscar));
      expect(err).toMatchObject({ code: 'intent_not_found', status: 404, message: 'No intent with key nope' });
    });

    it('an owner of another team is refused with what they tried to do', async () => {
      await d.c.intents.submit(webIntent('theirs'), alice);
      const err = await errorOf(() => d.c.lifecycle.act('theirs', 'pause', 'x', people.bob));
      expect(err).toMatchObject({ code: 'forbidden_team', status: 403 });
      expect(err.message).toContain('it may not pause experiments of team growth');
    });
  });

  describe('what the change feed and the flags carry', () => {
    it('each change names its cause: the transition, the experiment version, its decision and policy, the actor', async () => {
      const r = await d.c.intents.submit(webIntent('caused'), alice);
      await d.c.lifecycle.act('caused', 'rollback', 'pull', oscar);
      const causes = (await feed('web', 'caused')).map((e) => e.cause);
      expect(causes).toEqual([
        { type: 'started', experiment: 'caused', experiment_version: 1, decision_id: r.decision.id, policy_revision: r.decision.policy_revision, actor: 'alice' },
        // Rolled back to nothing: no version, decision or policy drives the flags any more.
        { type: 'rolled_back', experiment: 'caused', experiment_version: null, decision_id: null, policy_revision: null, actor: 'oscar' },
      ]);
    });

    it("a flag's provenance is its decision (id, policy revision, submitter, time); unlayered, its slice is [0, exposure) under exp/{key}/exposure", async () => {
      const submittedAt = d.clock.now().toISOString();
      const r = await d.c.intents.submit(simpleIntent('prov', { services: [{ service: 'checkout-api', flag: 'prov' }], exposure: 2.5 }), alice);
      d.clock.advance(HOUR);
      await d.c.intents.approve('prov', sam);
      const f = (await flagIn(d.c, 'checkout-api', 'prov'))!;
      expect(f['provenance']).toEqual({ decision_id: r.decision.id, policy_revision: r.decision.policy_revision, actor: 'alice', at: submittedAt });
      expect(f['allocation']).toMatchObject({ exposure: { seed: 'exp/prov/exposure', start: 0, end: 250, total: 10000 }, variants: { seed: 'exp/prov' } });
      expect(f['experiment']).toEqual({ key: 'prov', version: 1 });
      // No layer, no slice reserved: the detail shows none.
      expect((await d.c.intents.get('prov')).versions[0]).not.toHaveProperty('slice');
    });
  });

  describe('audit events', () => {
    it('list the services touched, sorted, and the new document version of each', async () => {
      await d.c.intents.submit(webIntent('multi', { services: [{ service: 'web', flag: 'multi_w' }, { service: 'search', flag: 'multi_s' }] }), alice);
      await d.c.lifecycle.act('multi', 'pause', 'p', oscar);
      const e = (await auditOf(d.c, 'multi')).at(-1)!;
      expect(e.data['services']).toEqual(['search', 'web']);
      expect(e.data['flags_versions']).toEqual({ web: d.c.flags.current('web').version, search: d.c.flags.current('search').version });
    });

    it('completing a draft names its current version, touches no service', async () => {
      await d.c.intents.submit(simpleIntent('never-ran', { services: [{ service: 'checkout-api', flag: 'never_ran' }], exposure: 2 }), alice);
      await d.c.intents.update('never-ran', simpleIntent('never-ran', { services: [{ service: 'checkout-api', flag: 'never_ran' }], exposure: 3 }), alice);
      await d.c.lifecycle.act('never-ran', 'complete', 'abandoned', oscar);
      expect((await auditOf(d.c, 'never-ran')).at(-1)).toMatchObject({
        type: 'completed',
        actor: 'oscar',
        version: 2,
        data: { from_state: 'draft', to_state: 'completed', reason: 'abandoned', services: [], flags_versions: {} },
      });
    });

    it('a pause carries no detail unless the guardrail gives one', async () => {
      await d.c.intents.submit(webIntent('plain-pause'), alice);
      await d.c.lifecycle.act('plain-pause', 'pause', 'p', oscar);
      expect((await auditOf(d.c, 'plain-pause')).at(-1)!.data).not.toHaveProperty('detail');
      expect((await feed('web', 'plain-pause')).at(-1)!.cause).not.toHaveProperty('detail');
    });
  });

  describe('rollback targets', () => {
    it('never a ship version, even one below the active version', async () => {
      await d.c.intents.submit(webIntent('reship'), alice);
      await d.c.intents.ship('reship', 'treatment', 'wins', alice);
      expect((await d.c.intents.get('reship')).state).toBe('shipped');
      // A new ordinary version, approved while shipped, drives the flags again.
      await d.c.intents.update('reship', webIntent('reship', { exposure: 20 }), alice);
      expect(await d.c.intents.get('reship')).toMatchObject({ state: 'running', active_version: 3 });
      expect(await d.c.lifecycle.act('reship', 'rollback', 'undo', oscar)).toMatchObject({ state: 'running', activeVersion: 1 });
      expect(await flagIn(d.c, 'web', flagOf('reship'))).toMatchObject({ default_variant: 'control', experiment: { version: 1 } });
    });
  });

  describe('due times exactly now', () => {
    it('a scheduled experiment ticked exactly at its end expires, it does not start', async () => {
      const start = at(HOUR);
      const end = at(2 * HOUR);
      await d.c.intents.submit(webIntent('exact-end', { schedule: { start, end } }), alice);
      d.clock.set(end);
      const t = await d.c.lifecycle.tick();
      expect(t.expired).toContain('exact-end');
      expect(t.started).not.toContain('exact-end');
    });

    it('a running version ticked exactly at its end expires', async () => {
      const end = at(HOUR);
      await d.c.intents.submit(webIntent('run-end', { schedule: { end } }), alice);
      d.clock.set(end);
      const t = await d.c.lifecycle.tick();
      expect(t.expired).toContain('run-end');
      expect((await d.c.intents.get('run-end')).state).toBe('completed');
    });
  });

  describe('the rollout view', () => {
    it('of a draft is its current version\'s, at stage 0 with no hold yet', async () => {
      await d.c.intents.submit(
        simpleIntent('draft-roll', { services: [{ service: 'checkout-api', flag: 'draft_roll' }], exposure: 2, rollout: { stages: [{ exposure: 1 }, { exposure: 2 }], guardrails: [{ metric: 'error_rate' }] } }),
        alice,
      );
      expect(await d.c.intents.get('draft-roll')).toMatchObject({ state: 'draft', rollout: { stage: 0, stages: 2, exposure: 1, hold_until: null, status: 'holding' } });
    });
  });
});

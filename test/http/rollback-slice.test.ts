import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * A version that returns to service by rollback returns to its old layer slice only if that slice
 * is still free; if another experiment took part of it meanwhile, the returning version moves to
 * the first free fit. Two experiments of one layer never serve overlapping slices.
 */
describe('rollback into a layer whose room has moved', () => {
  let s: TestServer;
  let owner: Api;
  let operator: Api;
  const slice = async (key: string) => {
    const doc = (await owner.get('/v1/services/web/flags')).body;
    const flag = doc.flags[`${key.replace(/-/g, '_')}_flag`];
    return flag?.allocation.exposure as { seed: string; start: number; end: number } | undefined;
  };

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'olivia', role: 'owner', team: 'growth' });
    operator = await s.token({ name: 'oscar', role: 'operator' });
  });
  afterAll(async () => s?.close());

  it('moves the returning version off a slice another experiment took, and keeps every slice disjoint', async () => {
    expect((await owner.post('/v1/intents', simpleIntent('wide-then-narrow', { layer: 'ckout', exposure: 30 }))).body.state).toBe('running');
    expect(await slice('wide-then-narrow')).toMatchObject({ seed: 'layer/ckout', start: 0, end: 3000 });
    // v2 narrows to 10 %: it takes the first fit, [0, 1000), and v1's [0, 3000) is free again.
    const v2 = await owner.put('/v1/intents/wide-then-narrow', simpleIntent('wide-then-narrow', { layer: 'ckout', exposure: 10 }));
    expect(v2.status, v2.text).toBe(200);
    expect(await slice('wide-then-narrow')).toMatchObject({ start: 0, end: 1000 });
    // Another experiment takes [1000, 6000), which overlaps v1's old slice.
    expect((await owner.post('/v1/intents', simpleIntent('neighbour', { layer: 'ckout', exposure: 50 }))).body.state).toBe('running');
    expect(await slice('neighbour')).toMatchObject({ start: 1000, end: 6000 });

    const rolled = await operator.post('/v1/intents/wide-then-narrow/actions', { action: 'rollback', reason: 'v2 misbehaves' });
    expect(rolled.status, rolled.text).toBe(200);
    expect(rolled.body).toMatchObject({ state: 'running', active_version: 1 });
    const back = (await slice('wide-then-narrow'))!;
    expect(back.end - back.start).toBe(3000);
    expect(back).toMatchObject({ start: 6000, end: 9000 });
    const neighbour = (await slice('neighbour'))!;
    expect(back.end <= neighbour.start || neighbour.end <= back.start).toBe(true);
  });
});

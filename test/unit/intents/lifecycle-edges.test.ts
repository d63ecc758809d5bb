import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagIn, flagOf, openDomain, people, webIntent, type Domain } from '../../helpers/domain.js';

/**
 * Edges the first mutation run of src/intents/lifecycle.ts left open (docs/mutation.md): a start
 * already reached or exactly now on resume and rollback, and rollback past a retired version.
 */
describe('lifecycle edges', () => {
  let d: Domain;
  const { alice, oscar } = people;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(() => d?.close());

  const at = (ms: number) => new Date(d.clock.now().getTime() + ms).toISOString();

  it('resume exactly at, or after, the active version\'s start runs it (only a start still ahead schedules it)', async () => {
    const start = at(HOUR);
    await d.c.intents.submit(webIntent('resume-at-start', { schedule: { start } }), alice);
    d.clock.set(start);
    expect((await d.c.lifecycle.tick()).started).toContain('resume-at-start');
    await d.c.lifecycle.act('resume-at-start', 'pause', 'p', oscar);
    expect(await d.c.lifecycle.act('resume-at-start', 'resume', 'r', oscar)).toMatchObject({ state: 'running' });
    await d.c.lifecycle.act('resume-at-start', 'pause', 'p', oscar);
    d.clock.advance(HOUR);
    expect(await d.c.lifecycle.act('resume-at-start', 'resume', 'r', oscar)).toMatchObject({ state: 'running' });
    expect(await flagIn(d.c, 'web', flagOf('resume-at-start'))).toMatchObject({ state: 'ENABLED' });
  });

  it('rollback exactly at, or after, the target version\'s start runs it', async () => {
    const start = at(HOUR);
    await d.c.intents.submit(webIntent('rb-at-start', { schedule: { start } }), alice);
    d.clock.set(start);
    await d.c.lifecycle.tick();
    await d.c.intents.update('rb-at-start', webIntent('rb-at-start', { exposure: 20 }), alice);
    expect(await d.c.lifecycle.act('rb-at-start', 'rollback', 'undo', oscar)).toMatchObject({ state: 'running', activeVersion: 1 });

    const later = at(HOUR);
    await d.c.intents.submit(webIntent('rb-after-start', { schedule: { start: later } }), alice);
    d.clock.set(later);
    await d.c.lifecycle.tick();
    await d.c.intents.update('rb-after-start', webIntent('rb-after-start', { exposure: 20 }), alice);
    d.clock.advance(HOUR);
    expect(await d.c.lifecycle.act('rb-after-start', 'rollback', 'undo', oscar)).toMatchObject({ state: 'running', activeVersion: 1 });
    expect(await flagIn(d.c, 'web', flagOf('rb-after-start'))).toMatchObject({ state: 'ENABLED', experiment: { version: 1 } });
  });

  it('rollback skips a version rolled back before, even one below the active version; an unlayered target gets no slice', async () => {
    await d.c.intents.submit(webIntent('retired', { exposure: 10 }), alice);
    await d.c.intents.update('retired', webIntent('retired', { exposure: 11 }), alice);
    // v2 is rolled back (retired); v3 is approved on top of v1.
    expect((await d.c.lifecycle.act('retired', 'rollback', 'v2 bad', oscar)).activeVersion).toBe(1);
    await d.c.intents.update('retired', webIntent('retired', { exposure: 12 }), alice);
    expect((await d.c.intents.get('retired')).active_version).toBe(3);
    // Back from v3: v2 lies between, but it was rolled back; v1 it is.
    expect((await d.c.lifecycle.act('retired', 'rollback', 'v3 bad', oscar)).activeVersion).toBe(1);
    expect(await flagIn(d.c, 'web', flagOf('retired'))).toMatchObject({ experiment: { version: 1 }, allocation: { exposure: { start: 0, end: 1000 } } });
    expect((await d.c.intents.get('retired')).versions[0]).not.toHaveProperty('slice');
  });
});

import { describe, expect, it } from 'vitest';
import type { AuthorModule, IntentSpec } from '../../../src/console/types.js';

/** The authoring form's pure parts (src/console/static/author-model.js), run in node. */
const modulePath = '../../../src/console/static/author-model.js';
const m = (await import(modulePath)) as AuthorModule;

const draft: IntentSpec = {
  key: 'k-demo',
  owner: 'growth',
  services: [
    { service: 'web', flag: 'a' },
    { service: 'ghost', flag: 'b' },
  ],
  variants: [
    { key: 'control', weight: 50, value: false },
    { key: 'treatment', weight: 50, value: true },
  ],
  exposure: 10,
};

describe('author-model', () => {
  it('puts each violation at the field it concerns: by code, then the row of its service', () => {
    const at = (code: string, extra: Record<string, string> = {}) => m.violationField({ code, policy: 'p', message: 'm', ...extra }, draft);
    expect(at('naming')).toBe('key');
    expect(at('max_exposure', { service: 'web' })).toBe('exposure');
    expect(at('unknown_service', { service: 'ghost' })).toBe('services.1');
    expect(at('flag_conflict', { service: 'web' })).toBe('services.0');
    expect(at('flag_conflict', { service: 'elsewhere' })).toBe('services');
    expect(at('data_access', { data_class: 'contact_info' })).toBe('data_access');
    expect(at('unknown_data_class', { data_class: 'x' })).toBe('data_access');
    expect(at('layer_capacity')).toBe('layer');
    expect(at('schedule')).toBe('schedule');
    expect(at('unknown_metric')).toBe('rollout.guardrails');
    expect(at('guardrail_required', { service: 'web' })).toBe('rollout.guardrails');
    expect(at('policy_timeout')).toBeNull();
    expect(at('something_new', { service: 'ghost' })).toBe('services.1');
  });

  it('finds the nearest slot for a schema error path, else the top', () => {
    const has = (p: string) => ['variants', 'variants.1', 'exposure'].includes(p);
    expect(m.nearestSlot('variants.1.weight', has)).toBe('variants.1');
    expect(m.nearestSlot('variants.7.key', has)).toBe('variants');
    expect(m.nearestSlot('exposure', has)).toBe('exposure');
    expect(m.nearestSlot('rollout.stages.0', has)).toBeNull();
    expect(m.nearestSlot(null, has)).toBeNull();
  });

  it('reads a typed value as JSON when it is JSON, else as text, and shows it back the same', () => {
    for (const v of [true, false, 3, 'blue', 'true', '3', { a: 1 }, null, 'x, y']) expect(m.readValue(m.showValue(v))).toEqual(v);
    expect(m.readValue('blue')).toBe('blue');
    expect(m.readList('en-US, en-GB, 3')).toEqual(['en-US', 'en-GB', 3]);
    expect(m.showList(['a', 1])).toBe('a, 1');
  });

  it('suggests schedule dates from the day the form is shown (tomorrow, for 30 days), which the policy accepts on any day', () => {
    expect(m.schedulePlaceholder(new Date('2031-06-01T09:00:00Z'))).toEqual({ start: '2031-06-02T00:00:00Z', end: '2031-07-02T00:00:00Z' });
    expect(m.schedulePlaceholder(new Date('2026-12-31T23:59:59.999Z'))).toEqual({ start: '2027-01-01T00:00:00Z', end: '2027-01-31T00:00:00Z' });
    // The schedule rule (SPEC §2): the end after the start and after now, at most 90 days.
    for (const now of ['2026-11-30T00:00:00Z', '2028-02-28T12:00:00Z', '2031-06-01T23:59:59Z'].map((t) => new Date(t))) {
      const { start, end } = m.schedulePlaceholder(now);
      expect(Date.parse(start)).toBeGreaterThan(now.getTime());
      expect(Date.parse(end) - Date.parse(start)).toBe(30 * 86_400_000);
    }
  });

  it('sends blank optional fields as absent, not as empty strings', () => {
    const body = m.toBody({ ...draft, description: '', layer: '', unit: '', schedule: { start: '', end: '2026-12-01T00:00:00Z' } }) as unknown as Record<string, unknown>;
    expect(body).not.toHaveProperty('description');
    expect(body).not.toHaveProperty('layer');
    expect(body).not.toHaveProperty('unit');
    expect(body['schedule']).toEqual({ end: '2026-12-01T00:00:00Z' });
    expect(m.toBody({ ...draft, schedule: { start: '', end: '' } })).not.toHaveProperty('schedule');
    expect(m.blankIntent('growth')).toMatchObject({ owner: 'growth', variants: [{ key: 'control' }, { key: 'treatment' }] });
  });
});

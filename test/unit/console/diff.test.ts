import { describe, expect, it } from 'vitest';
import type { DiffModule, DiffRow, IntentSpec } from '../../../src/console/types.js';

/** The approver's comparison (src/console/static/diff.js), run in node: it is pure. */
const modulePath = '../../../src/console/static/diff.js';
const { intentDiff, valueIn } = (await import(modulePath)) as DiffModule;

const live: IntentSpec = {
  key: 'checkout-redesign',
  owner: 'growth',
  description: 'One-page checkout',
  services: [
    { service: 'web', flag: 'checkout_redesign' },
    { service: 'checkout-api', flag: 'checkout_v2' },
  ],
  variants: [
    { key: 'control', weight: 50, value: false },
    { key: 'treatment', weight: 50, value: true, overrides: { 'checkout-api': 'v2' } },
  ],
  exposure: 2,
  audience: [{ attribute: 'locale', op: 'in', values: ['en-US'] }],
};

const byField = (rows: DiffRow[]) => Object.fromEntries(rows.map((r) => [r.field, r]));

describe('intentDiff (the approver’s comparison)', () => {
  it('marks nothing changed between a version and itself, and lists the fields an approver weighs in order', () => {
    const rows = intentDiff(live, structuredClone(live));
    expect(rows.filter((r) => r.changed)).toEqual([]);
    expect(rows.map((r) => r.field)).toEqual([
      'description',
      'exposure',
      'audience',
      'variants',
      'values.web',
      'values.checkout-api',
      'services',
      'rollout',
      'unit',
      'layer',
      'data_access',
      'schedule',
    ]);
  });

  it('shows exposure, audience, variants, values, services and rollout as the live and the proposed version have them', () => {
    const proposed: IntentSpec = {
      ...structuredClone(live),
      exposure: 4.5,
      audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
      variants: [
        { key: 'control', weight: 50, value: false },
        { key: 'treatment', weight: 40, value: true, overrides: { 'checkout-api': 'v3' } },
        { key: 'bold', weight: 10, value: true },
      ],
      services: [...live.services, { service: 'search', flag: 'checkout_search' }],
      rollout: { stages: [{ exposure: 1, hold: 'PT1H' }, { exposure: 4.5 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] },
    };
    const d = byField(intentDiff(live, proposed));
    expect(d['exposure']).toEqual({ field: 'exposure', label: 'Exposure', before: '2 %', after: '4.5 %', changed: true });
    expect(d['audience']).toMatchObject({ before: 'locale in ["en-US"]', after: 'locale in ["en-US", "en-GB"]', changed: true });
    expect(d['variants']).toMatchObject({
      before: 'control (weight 50), treatment (weight 50)',
      after: 'control (weight 50), treatment (weight 40), bold (weight 10)',
      changed: true,
    });
    // An override counts in its own service only: web's values differ by the new arm alone.
    expect(d['values.web']).toMatchObject({ before: 'control = false, treatment = true', after: 'control = false, treatment = true, bold = true', changed: true });
    expect(d['values.checkout-api']).toMatchObject({ before: 'control = false, treatment = "v2"', after: 'control = false, treatment = "v3", bold = true', changed: true });
    expect(d['values.search']).toMatchObject({ before: 'not in this version', after: 'control = false, treatment = true, bold = true', changed: true });
    expect(d['services']).toMatchObject({ after: 'web: checkout_redesign, checkout-api: checkout_v2, search: checkout_search', changed: true });
    expect(d['rollout']).toMatchObject({
      before: 'none: the whole exposure at once',
      after: '1 % (hold PT1H) → 4.5 %; error_rate ≤ +10 %; auto advance off',
      changed: true,
    });
    expect(d['description']!.changed).toBe(false);
    expect(d['unit']).toMatchObject({ before: 'user_id', after: 'user_id', changed: false });
  });

  it('a value change alone, in one service, is one changed row', () => {
    const proposed = structuredClone(live);
    proposed.variants[1]!.overrides = { 'checkout-api': 'v3' };
    const changed = intentDiff(live, proposed).filter((r) => r.changed);
    expect(changed.map((r) => r.field)).toEqual(['values.checkout-api']);
  });

  it('with no live version, shows the proposed one against "—" and marks nothing changed', () => {
    const rows = intentDiff(null, live);
    expect(rows.every((r) => r.before === '—' && !r.changed)).toBe(true);
    expect(byField(rows)['exposure']!.after).toBe('2 %');
  });

  it('valueIn: an override in that service, else the value (an override of a falsy value counts)', () => {
    expect(valueIn({ key: 't', weight: 1, value: true, overrides: { api: false } }, 'api')).toBe(false);
    expect(valueIn({ key: 't', weight: 1, value: true, overrides: { api: false } }, 'web')).toBe(true);
  });
});

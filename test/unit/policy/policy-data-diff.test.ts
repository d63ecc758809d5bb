import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataChanges } from '../../../src/policy/policy-data-diff.js';
import { ROOT } from '../../helpers/paths.js';

const shipped = () => JSON.parse(fs.readFileSync(path.join(ROOT, 'policies/data.json'), 'utf8')) as Record<string, any>;

describe('dataChanges: the candidate bundle data against the active one', () => {
  it('the same document has no change', () => {
    expect(dataChanges(shipped(), shipped())).toEqual({ changes: [], omitted: 0 });
  });

  it('names each changed, added and removed member by its path, old → new, sorted by path', () => {
    const before = shipped();
    const after = shipped();
    after.switchyard.catalog.tier_caps.standard = 20;
    after.switchyard.catalog.services.billing = { tier: 'critical', data_classes: ['purchase_history'] };
    delete after.switchyard.catalog.metrics.conversion;
    expect(dataChanges(before, after).changes).toEqual([
      { path: ['switchyard', 'catalog', 'metrics', 'conversion'], change: 'removed', before: { type: 'binary', better: 'higher' } },
      { path: ['switchyard', 'catalog', 'services', 'billing'], change: 'added', after: { tier: 'critical', data_classes: ['purchase_history'] } },
      { path: ['switchyard', 'catalog', 'tier_caps', 'standard'], change: 'changed', before: 50, after: 20 },
    ]);
  });

  it('an array is one value: a change inside it shows the whole array before and after', () => {
    const before = shipped();
    const after = shipped();
    after.switchyard.catalog.services.web.data_classes.push('query_logs');
    after.switchyard.catalog.obligations.approvals.by_tier.critical[0].count = 2;
    expect(dataChanges(before, after).changes).toEqual([
      {
        path: ['switchyard', 'catalog', 'obligations', 'approvals', 'by_tier', 'critical'],
        change: 'changed',
        before: [{ role: 'sre', count: 1 }],
        after: [{ role: 'sre', count: 2 }],
      },
      { path: ['switchyard', 'catalog', 'services', 'web', 'data_classes'], change: 'changed', before: ['clickstream'], after: ['clickstream', 'query_logs'] },
    ]);
  });

  it('a member that changes type (value → object, object → array) is one change, not its pieces', () => {
    expect(dataChanges({ a: 1, b: { c: 1 } }, { a: { x: 1 }, b: [1] }).changes).toEqual([
      { path: ['a'], change: 'changed', before: 1, after: { x: 1 } },
      { path: ['b'], change: 'changed', before: { c: 1 }, after: [1] },
    ]);
  });

  it('without an active revision everything is added; a null value is a value', () => {
    expect(dataChanges({}, { a: null }).changes).toEqual([{ path: ['a'], change: 'added', after: null }]);
    expect(dataChanges({ a: null }, {}).changes).toEqual([{ path: ['a'], change: 'removed', before: null }]);
    expect(dataChanges({ a: null }, { a: 0 }).changes).toEqual([{ path: ['a'], change: 'changed', before: null, after: 0 }]);
  });

  it('keys that look like paths or indices stay keys', () => {
    expect(dataChanges({ 'a.b': { '0': 1 } }, { 'a.b': { '0': 2 } }).changes).toEqual([{ path: ['a.b', '0'], change: 'changed', before: 1, after: 2 }]);
  });

  it('lists at most the limit, and counts the rest', () => {
    const after = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, '0')}`, i]));
    const r = dataChanges({}, after, 5);
    expect(r.changes.map((c) => c.path[0])).toEqual(['k00', 'k01', 'k02', 'k03', 'k04']);
    expect(r.omitted).toBe(7);
  });
});

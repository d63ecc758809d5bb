import { describe, expect, it } from 'vitest';
import type { IntentDetail } from '../../../src/console/types.js';

/** The layer picture's rules (src/console/static/views/layer-model.js), run in node: they are pure. */
interface Claim {
  key: string;
  version: number;
  live: boolean;
  status: string;
  state: string;
  slice: { start: number; end: number } | null;
}
const modulePath = '../../../src/console/static/views/layer-model.js';
const { claimsOf, freeRanges, layerPicture, share, splitOf } = (await import(modulePath)) as {
  claimsOf: (exp: IntentDetail) => Claim[];
  freeRanges: (claims: { slice: Claim['slice'] }[], total?: number) => { start: number; end: number }[];
  layerPicture: (layer: string, claims: Claim[]) => { placed: Claim[]; unplaced: Claim[]; free: { start: number; end: number }[]; freeBuckets: number; total: number };
  share: (buckets: number) => string;
  splitOf: (variants: { key: string; weight: number }[]) => { key: string; weight: number; percent: number; control: boolean }[];
};

const slice = (start: number, end: number) => ({ slice: { start, end } });
type V = IntentDetail['versions'][number];
const detail = (extra: Partial<IntentDetail>, versions: Partial<V>[]): IntentDetail =>
  ({
    key: 'k',
    owner: 'growth',
    version: versions.length,
    status: versions.at(-1)?.status ?? 'approved',
    state: 'running',
    active_version: 1,
    intent: { key: 'k', owner: 'growth', services: [], variants: [], exposure: 5, layer: 'search' },
    versions: versions.map((v, i) => ({ version: i + 1, status: 'approved', decision_id: null, submitted_by: 'a', submitted_at: '2026-11-25T12:00:00Z', ...v })),
    ...extra,
  }) as IntentDetail;

describe('freeRanges', () => {
  it('is the complement of the slices, lowest first, overlaps and touching slices counted once', () => {
    expect(freeRanges([])).toEqual([{ start: 0, end: 10000 }]);
    expect(freeRanges([slice(5000, 6500), slice(0, 3000)])).toEqual([
      { start: 3000, end: 5000 },
      { start: 6500, end: 10000 },
    ]);
    expect(freeRanges([slice(0, 3000), slice(3000, 4000), slice(2000, 3500), slice(9000, 10000)])).toEqual([{ start: 4000, end: 9000 }]);
    // A slice inside another (an experiment's two live versions) frees nothing when it ends.
    expect(freeRanges([slice(0, 5000), slice(1000, 2000)])).toEqual([{ start: 5000, end: 10000 }]);
    expect(freeRanges([slice(0, 10000)])).toEqual([]);
    expect(freeRanges([{ slice: null }, slice(100, 100)])).toEqual([{ start: 0, end: 10000 }]);
  });
});

describe('claimsOf (which versions hold room: the server’s "live")', () => {
  it('the active version, and the current one while pending approval or approved', () => {
    const exp = detail({ version: 2, status: 'pending_approval', active_version: 1 }, [{ slice: { start: 0, end: 500 } }, { status: 'pending_approval', slice: { start: 500, end: 1200 } }]);
    expect(claimsOf(exp).map((c) => [c.version, c.live, c.slice])).toEqual([
      [1, true, { start: 0, end: 500 }],
      [2, false, { start: 500, end: 1200 }],
    ]);
  });

  it('not a denied or rolled-back-from current version, nor anything of a completed or archived experiment', () => {
    expect(claimsOf(detail({ version: 2, status: 'denied' }, [{ slice: { start: 0, end: 500 } }, { status: 'denied' }])).map((c) => c.version)).toEqual([1]);
    expect(claimsOf(detail({ version: 2 }, [{ slice: { start: 0, end: 500 } }, { rolled_back_at: '2026-11-25T13:00:00Z', slice: { start: 0, end: 900 } }])).map((c) => c.version)).toEqual([1]);
    for (const state of ['completed', 'archived'] as const) expect(claimsOf(detail({ state }, [{ slice: { start: 0, end: 500 } }]))).toEqual([]);
    expect(claimsOf(detail({ active_version: null, state: 'draft', status: 'pending_approval' }, [{ status: 'pending_approval', slice: { start: 0, end: 500 } }]))).toMatchObject([{ version: 1, live: false }]);
  });
});

describe('layerPicture, share and splitOf', () => {
  it('places slices by start, keeps the unplaced apart, and adds up the free buckets', () => {
    const c = (key: string, s: Claim['slice']): Claim => ({ key, version: 1, live: true, status: 'approved', state: 'running', slice: s });
    const p = layerPicture('search', [c('z', { start: 5000, end: 6500 }), c('a', { start: 0, end: 3000 }), c('ship', null)]);
    expect(p.placed.map((x) => x.key)).toEqual(['a', 'z']);
    expect(p.unplaced.map((x) => x.key)).toEqual(['ship']);
    expect(p.freeBuckets).toBe(5500);
    expect(p.total).toBe(10000);
  });

  it('shows a share of the layer as a percentage of its 10000 buckets', () => {
    expect(share(3000)).toBe('30 %');
    expect(share(450)).toBe('4.5 %');
    expect(share(1)).toBe('0.01 %');
  });

  it('splits by weight, the first variant the control', () => {
    expect(splitOf([{ key: 'base', weight: 7 }, { key: 'x', weight: 2 }, { key: 'y', weight: 1 }])).toEqual([
      { key: 'base', weight: 7, percent: 70, control: true },
      { key: 'x', weight: 2, percent: 20, control: false },
      { key: 'y', weight: 1, percent: 10, control: false },
    ]);
    expect(splitOf([{ key: 'a', weight: 1 }, { key: 'b', weight: 2 }]).map((p) => p.percent)).toEqual([33.33, 66.67]);
  });
});

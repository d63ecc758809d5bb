import { describe, expect, it } from 'vitest';
import type { IntentList } from '../../../src/console/types.js';

/** The experiments list's rules (src/console/static/views/list-model.js), run in node: they are pure. */
type Item = IntentList['items'][number];
interface Query {
  q: string;
  status: string;
  state: string;
  service: string;
  flag: string;
  owner: string;
  waiting: boolean;
  limit: number;
  sort: { col: string; dir: 'ascending' | 'descending' } | null;
  active: boolean;
}
const modulePath = '../../../src/console/static/views/list-model.js';
const { listQuery, matches, sortRows, stateCounts } = (await import(modulePath)) as {
  listQuery: (p: URLSearchParams, known: { states: string[]; statuses: string[]; columns: string[] }) => Query;
  matches: (it: Item, f: Omit<Query, 'waiting' | 'limit' | 'sort' | 'active'>) => boolean;
  sortRows: <R extends { key: string }>(rows: R[], key: (r: R) => string | number, dir: 'ascending' | 'descending') => R[];
  stateCounts: (items: { state: string }[]) => Map<string, number>;
};

const KNOWN = { states: ['draft', 'running', 'paused'], statuses: ['approved', 'denied'], columns: ['key', 'exposure'] };
const item = (key: string, extra: Partial<Item> = {}): Item => ({
  key,
  owner: 'growth',
  version: 1,
  active_version: 1,
  status: 'approved',
  state: 'running',
  description: null,
  services: [{ service: 'web', flag: `${key}_flag` }],
  exposure: 5,
  layer: null,
  updated_at: '2026-11-25T12:00:00Z',
  ...extra,
});
const none = { q: '', status: '', state: '', service: '', flag: '', owner: '' };

describe('listQuery (what the URL fragment asks for)', () => {
  it('reads every filter, the page size and the sort; an unknown status, state or column is ignored, not an empty list', () => {
    const q = listQuery(new URLSearchParams('q=Check&status=denied&state=paused&service=web&flag=f&owner=GRO&waiting=me&limit=20&sort=-exposure'), KNOWN);
    expect(q).toEqual({ q: 'Check', status: 'denied', state: 'paused', service: 'web', flag: 'f', owner: 'GRO', waiting: true, limit: 20, sort: { col: 'exposure', dir: 'descending' }, active: true });
    const bad = listQuery(new URLSearchParams('status=nope&state=archivedx&sort=owner&limit=0'), KNOWN);
    expect(bad).toMatchObject({ status: '', state: '', sort: null, limit: 100, active: false });
    expect(listQuery(new URLSearchParams('sort=key&limit=900'), KNOWN)).toMatchObject({ sort: { col: 'key', dir: 'ascending' }, limit: 500, active: false });
    expect(listQuery(new URLSearchParams('limit=1000'), KNOWN).limit).toBe(100);
    expect(listQuery(new URLSearchParams('limit=500'), KNOWN).limit).toBe(500);
  });
});

describe('matches (search and filters)', () => {
  const it1 = item('checkout-redesign', { description: 'One-page Checkout', owner: 'growth-eu', status: 'approved', state: 'paused', services: [{ service: 'checkout-api', flag: 'one_page' }] });

  it('the search finds any part, in any case, of the key, the description, a flag or a service', () => {
    for (const q of ['REDESIGN', 'one-PAGE check', 'ONE_PAGE', 'Checkout-A']) expect(matches(it1, { ...none, q }), q).toBe(true);
    expect(matches(it1, { ...none, q: 'growth' }), 'the owner is not searched').toBe(false);
    expect(matches(it1, { ...none, q: 'web' })).toBe(false);
  });

  it('status and state match exactly; service, flag and owner team any part in any case', () => {
    expect(matches(it1, { ...none, status: 'approved', state: 'paused' })).toBe(true);
    expect(matches(it1, { ...none, status: 'denied' })).toBe(false);
    expect(matches(it1, { ...none, state: 'running' })).toBe(false);
    expect(matches(it1, { ...none, service: 'CHECKOUT' })).toBe(true);
    expect(matches(it1, { ...none, service: 'web' })).toBe(false);
    expect(matches(it1, { ...none, flag: 'Page' })).toBe(true);
    expect(matches(it1, { ...none, flag: 'checkout' }), 'the flag filter reads flags, not services').toBe(false);
    expect(matches(it1, { ...none, owner: 'EU' })).toBe(true);
    expect(matches(it1, { ...none, owner: 'crm' })).toBe(false);
  });

  it('every filter must hold at once', () => {
    expect(matches(it1, { ...none, q: 'checkout', owner: 'growth', state: 'paused', flag: 'one' })).toBe(true);
    expect(matches(it1, { ...none, q: 'checkout', owner: 'crm' })).toBe(false);
  });
});

describe('sortRows and stateCounts', () => {
  const rows = [item('b', { exposure: 10 }), item('a', { exposure: 10 }), item('c', { exposure: 2 }), item('d', { exposure: 100 })];

  it('sorts numbers as numbers (2 < 10 < 100), ties by key ascending whichever the direction', () => {
    expect(sortRows(rows, (r) => r.exposure, 'ascending').map((r) => r.key)).toEqual(['c', 'a', 'b', 'd']);
    expect(sortRows(rows, (r) => r.exposure, 'descending').map((r) => r.key)).toEqual(['d', 'a', 'b', 'c']);
    expect(rows.map((r) => r.key), 'the input is left as it was').toEqual(['b', 'a', 'c', 'd']);
  });

  it('counts each state, in the order of an experiment’s life, leaving out the states with none', () => {
    const counts = stateCounts([{ state: 'paused' }, { state: 'running' }, { state: 'draft' }, { state: 'running' }]);
    expect([...counts.entries()]).toEqual([
      ['draft', 1],
      ['running', 2],
      ['paused', 1],
    ]);
  });
});

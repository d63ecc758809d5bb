import { describe, expect, it } from 'vitest';
import { medianRound, ratio, table, type LoadResult, type Row } from '../../../bench/lib.js';

const row = (unit: string, value: number, peer: number): Row => ({ section: 's', name: 'n', metric: 'm', value, unit, peer: { name: 'p', value: peer } });

describe('bench ratio: above 1× always means ours is ahead', () => {
  it('divides ours by the peer for throughput, the peer by ours for times', () => {
    expect(ratio(row('req/s', 20_000, 2_500))).toBe(8);
    expect(ratio(row('decisions/s', 1_000, 2_000))).toBe(0.5);
    expect(ratio(row('µs', 50, 700))).toBe(14);
    expect(ratio(row('ns', 200, 100))).toBe(0.5);
  });

  it('has no ratio without a peer or with a zero (autocannon reports under 1 ms as 0)', () => {
    expect(ratio({ section: 's', name: 'n', metric: 'm', value: 1, unit: 'ms' })).toBeUndefined();
    expect(ratio(row('ms', 0, 4))).toBeUndefined();
    expect(ratio(row('ms', 1, 0))).toBeUndefined();
  });

  it('prints the ratio, the peer and "<1" for sub-millisecond latencies', () => {
    const text = table([row('req/s', 19_457, 2_755), row('ms', 1, 0)]);
    expect(text).toContain('| 19,457 | 2,755 p | 7.1× |');
    expect(text).toContain('| 1.00 | <1 p | <1.00× |');
  });
});

describe('medianRound', () => {
  const r = (rps: number, p99: number, failed = 0): LoadResult => ({ rps, p50: 0, p99, failed });

  it('takes the round with the median throughput, with that round’s latency', () => {
    expect(medianRound([r(30, 9), r(10, 1), r(20, 5)])).toEqual(r(20, 5));
  });

  it('counts the failures of every round, not only the median one', () => {
    expect(medianRound([r(30, 9, 2), r(10, 1, 3), r(20, 5)]).failed).toBe(5);
  });
});

import { describe, expect, it } from 'vitest';
import { alternate, ratio, spread, table, type Row } from '../../../bench/lib.js';

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

describe('alternate: rounds take turns, the order reversed every other round', () => {
  it('runs a b, b a, a b, … and returns each side its own results in round order', async () => {
    const calls: string[] = [];
    const side = (name: string) => async () => {
      calls.push(name);
      return `${name}${calls.filter((c) => c === name).length}`;
    };
    const [a, b] = await alternate(4, [side('a'), side('b')]);
    expect(calls).toEqual(['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
    expect(a).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(b).toEqual(['b1', 'b2', 'b3', 'b4']);
  });
});

describe('spread: the median round, with the lowest and highest beside it', () => {
  it('takes the middle of an odd count and the mean of the middle two of an even one', () => {
    expect(spread([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
  });

  it('prints µs with one decimal and the range beside the median', () => {
    const r: Row = { section: 's', name: 'n', metric: 'p50', value: 71.44, range: [65.02, 1_204.5], unit: 'µs', peer: { name: 'p', value: 616, range: [600, 640] } };
    expect(table([r])).toContain('| 71.4 (65.0–1,204.5) | 616.0 (600.0–640.0) p | 8.6× |');
  });
});

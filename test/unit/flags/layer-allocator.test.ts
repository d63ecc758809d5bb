import { describe, expect, it } from 'vitest';
import { firstFit, freeRanges, LayerSpace, layerRoom, overlaps, type LayerMember } from '../../../src/flags/layer-allocator.js';

/**
 * The plain definitions with concrete answers (test/unit/flags/layer-space.test.ts holds LayerSpace
 * to them; these hold them to what docs/layers.md says).
 */
describe('freeRanges', () => {
  it('gives the gaps between occupied slices, lowest first; overlapping and touching slices merge', () => {
    expect(freeRanges([{ start: 50, end: 60 }, { start: 10, end: 20 }, { start: 15, end: 30 }, { start: 30, end: 40 }], 100)).toEqual([
      { start: 0, end: 10 },
      { start: 40, end: 50 },
      { start: 60, end: 100 },
    ]);
  });

  it('ignores empty and inverted slices, and slices past the end of the layer', () => {
    expect(freeRanges([{ start: 30, end: 30 }, { start: 60, end: 20 }], 100)).toEqual([{ start: 0, end: 100 }]);
    expect(freeRanges([{ start: 90, end: 150 }, { start: 120, end: 130 }], 100)).toEqual([{ start: 0, end: 90 }]);
    expect(freeRanges([{ start: 0, end: 100 }], 100)).toEqual([]);
    expect(freeRanges([], 100)).toEqual([{ start: 0, end: 100 }]);
  });
});

describe('firstFit', () => {
  it('takes the lowest range that holds the size, exactly the size', () => {
    const occupied = [{ start: 10, end: 20 }, { start: 25, end: 80 }];
    expect(firstFit(occupied, 5, 100)).toEqual({ start: 0, end: 5 });
    expect(firstFit(occupied, 10, 100)).toEqual({ start: 0, end: 10 });
    expect(firstFit(occupied, 11, 100)).toEqual({ start: 80, end: 91 });
    expect(firstFit(occupied, 20, 100)).toEqual({ start: 80, end: 100 });
    expect(firstFit(occupied, 21, 100)).toBeNull();
  });

  it('has no room for nothing, for less than nothing, or for more than the layer', () => {
    for (const fit of [(n: number) => firstFit([], n, 100), (n: number) => new LayerSpace('l', 100).firstFit(n)]) {
      expect(fit(0)).toBeNull();
      expect(fit(-1)).toBeNull();
      expect(fit(101)).toBeNull();
      expect(fit(100)).toEqual({ start: 0, end: 100 });
    }
  });
});

describe('overlaps', () => {
  it('is true only when the slices share a bucket', () => {
    expect(overlaps({ start: 0, end: 10 }, { start: 9, end: 20 })).toBe(true);
    expect(overlaps({ start: 0, end: 10 }, { start: 10, end: 20 })).toBe(false);
    expect(overlaps({ start: 10, end: 20 }, { start: 0, end: 10 })).toBe(false);
  });
});

describe('layerRoom', () => {
  const m = (key: string, version: number, exposure: number, slice?: [number, number], status = 'running'): LayerMember => ({
    key,
    version,
    status,
    exposure,
    ...(slice ? { start: slice[0], end: slice[1] } : {}),
  });

  it('an experiment speaks with its largest version; on equal exposure, its lowest', () => {
    for (const room of [
      layerRoom('l', [m('a', 1, 10, [0, 1000]), m('a', 2, 30, [1000, 4000], 'approved'), m('b', 2, 5, undefined, 'scheduled'), m('b', 1, 5, undefined, 'paused')]),
      (() => {
        const space = new LayerSpace('l');
        space.set('a', [m('a', 1, 10, [0, 1000]), m('a', 2, 30, [1000, 4000], 'approved')]);
        space.set('b', [m('b', 2, 5, undefined, 'scheduled'), m('b', 1, 5, undefined, 'paused')]);
        return space.room();
      })(),
    ]) {
      expect(room).toEqual({
        layer: 'l',
        total: 10_000,
        reserved: 4000,
        unplaced: 500,
        largest_free: 6000,
        free_range_count: 1,
        free_ranges: [{ start: 4000, end: 10_000 }],
        experiments: 2,
        largest: [
          { key: 'a', status: 'approved', exposure: 30 },
          { key: 'b', status: 'paused', exposure: 5 },
        ],
      });
    }
  });

  it('a member without both ends, or with an empty slice, holds no room and counts as unplaced', () => {
    const members = [{ key: 'a', version: 1, status: 'running', exposure: 10, start: 0 }, m('b', 1, 20, [500, 500]), m('c', 1, 1, [0, 100])];
    const room = layerRoom('l', members);
    expect(room).toMatchObject({ reserved: 100, unplaced: 3000, free_ranges: [{ start: 100, end: 10_000 }] });
  });

  it('ranks the largest members by exposure, then by key, and lists at most five', () => {
    const members = ['f', 'e', 'd', 'c', 'b', 'a'].map((k, i) => m(k, 1, i < 2 ? 9 : 1, [i * 10, i * 10 + 5]));
    expect(layerRoom('l', members).largest.map((x) => x.key)).toEqual(['e', 'f', 'a', 'b', 'c']);
  });

  it('lists the eight widest free ranges, lowest start first, and counts them all', () => {
    // Eleven gaps of widths 1..11 between one-bucket slices.
    const slices: [number, number][] = [];
    let at = 0;
    for (let w = 1; w <= 11; w++) {
      at += w;
      slices.push([at, at + 1]);
      at += 1;
    }
    const room = layerRoom('l', slices.map((s, i) => m(`k${i}`, 1, 0.01, s)), at);
    expect(room.free_range_count).toBe(11);
    expect(room.free_ranges.map((f) => f.end - f.start)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(room.largest_free).toBe(11);
  });
});

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

/** The plain definitions and a LayerSpace holding the same slices, one experiment each. */
const both = (slices: [number, number][], total = 100) => {
  const occupied = slices.map(([start, end]) => ({ start, end }));
  const space = new LayerSpace('l', total);
  slices.forEach(([start, end], i) => space.set(`k${i}`, [{ key: `k${i}`, version: 1, status: 'running', exposure: 1, start, end }]));
  return { occupied, space, total };
};

describe('first fit, the plain definition and LayerSpace alike', () => {
  const fits = (slices: [number, number][], size: number, total = 100) => {
    const { occupied, space } = both(slices, total);
    const plain = firstFit(occupied, size, total);
    expect(space.firstFit(size)).toEqual(plain);
    return plain;
  };

  it('fragmentation: skips every gap too narrow and takes the first wide enough, not the widest', () => {
    // gaps: [0,5) 5, [10,13) 3, [20,27) 7, [30,100) 70
    const slices: [number, number][] = [[5, 10], [13, 20], [27, 30]];
    expect(fits(slices, 3)).toEqual({ start: 0, end: 3 });
    expect(fits(slices, 6)).toEqual({ start: 20, end: 26 });
    expect(fits(slices, 8)).toEqual({ start: 30, end: 38 });
    expect(fits(slices, 70)).toEqual({ start: 30, end: 100 });
    expect(fits(slices, 71)).toBeNull();
  });

  it('exact fit: a gap exactly the size is taken, whole', () => {
    expect(fits([[0, 10], [13, 100]], 3)).toEqual({ start: 10, end: 13 });
    expect(fits([[0, 10], [13, 100]], 4)).toBeNull();
    expect(fits([[0, 97]], 3)).toEqual({ start: 97, end: 100 });
    expect(fits([[3, 100]], 3)).toEqual({ start: 0, end: 3 });
  });

  it('full layer: no room for one bucket, however it is covered', () => {
    expect(fits([[0, 100]], 1)).toBeNull();
    expect(fits([[0, 50], [50, 100]], 1)).toBeNull();
    expect(fits([[0, 60], [40, 100]], 1)).toBeNull();
    expect(fits([[50, 100], [0, 50]], 1)).toBeNull();
  });

  it('release and reuse: a slice given back is first fit again, and taken again whole', () => {
    const space = new LayerSpace('l', 100);
    const take = (key: string, size: number) => {
      const slice = space.firstFit(size)!;
      space.set(key, [{ key, version: 1, status: 'running', exposure: size / 100, ...slice }]);
      return slice;
    };
    expect(take('a', 30)).toEqual({ start: 0, end: 30 });
    expect(take('b', 30)).toEqual({ start: 30, end: 60 });
    expect(take('c', 40)).toEqual({ start: 60, end: 100 });
    expect(space.firstFit(1)).toBeNull();
    space.set('b', []);
    expect(space.has('b')).toBe(false);
    expect(space.experiments).toBe(2);
    expect(space.freeRanges()).toEqual([{ start: 30, end: 60 }]);
    expect(space.firstFit(31)).toBeNull();
    expect(take('d', 20)).toEqual({ start: 30, end: 50 });
    expect(take('e', 10)).toEqual({ start: 50, end: 60 });
    expect(space.firstFit(1)).toBeNull();
    // Releasing two neighbours merges their room.
    space.set('a', []);
    space.set('d', []);
    expect(space.freeRanges()).toEqual([{ start: 0, end: 50 }]);
    expect(take('f', 50)).toEqual({ start: 0, end: 50 });
    expect(space.has('f')).toBe(true);
    expect(space.has('a')).toBe(false);
  });

  it("an experiment's own slices count as free for its next intent, not for anyone else", () => {
    const space = new LayerSpace('l', 100);
    space.set('a', [{ key: 'a', version: 1, status: 'running', exposure: 0.2, start: 0, end: 20 }, { key: 'a', version: 2, status: 'approved', exposure: 0.1, start: 40, end: 50 }]);
    space.set('b', [{ key: 'b', version: 1, status: 'running', exposure: 0.2, start: 20, end: 40 }]);
    expect(space.firstFit(25)).toEqual({ start: 50, end: 75 });
    expect(space.firstFit(20, 'a')).toEqual({ start: 0, end: 20 });
    expect(space.firstFit(60, 'a')).toEqual({ start: 40, end: 100 });
    expect(space.freeRanges('a')).toEqual([{ start: 0, end: 20 }, { start: 40, end: 100 }]);
    expect(space.freeRanges('b')).toEqual([{ start: 20, end: 40 }, { start: 50, end: 100 }]);
    expect(space.freeRanges('nobody')).toEqual([{ start: 50, end: 100 }]);
    expect(space.isFree({ start: 50, end: 60 }, 'nobody')).toBe(true);
    expect(space.isFree({ start: 0, end: 20 }, 'nobody')).toBe(false);
    expect(space.room('nobody')).toEqual(space.room());
    expect(space.isFree({ start: 0, end: 20 }, 'a')).toBe(true);
    expect(space.isFree({ start: 19, end: 21 }, 'a')).toBe(false);
    expect(space.isFree({ start: 40, end: 50 }, 'a')).toBe(true);
    expect(space.isFree({ start: 40, end: 50 })).toBe(false);
    expect(space.isFree({ start: 49, end: 51 })).toBe(false);
    expect(space.isFree({ start: 50, end: 100 })).toBe(true);
    expect(space.isFree({ start: 50, end: 150 })).toBe(true);
    expect(space.isFree({ start: -10, end: 0 })).toBe(true);
    expect(space.isFree({ start: -10, end: 1 })).toBe(false);
  });

  it('ordering ties: equal gaps go lowest start first, whatever order the slices came in', () => {
    // gaps of 10 at 0, 20, 40, 60, 80
    const slices: [number, number][] = [[70, 80], [10, 20], [50, 60], [30, 40], [90, 100]];
    expect(fits(slices, 10)).toEqual({ start: 0, end: 10 });
    expect(fits(slices.slice(1).concat([[0, 10]]), 10)).toEqual({ start: 20, end: 30 });
    // Two slices starting together, the shorter first or last: the longer one decides.
    expect(fits([[0, 5], [0, 30]], 10)).toEqual({ start: 30, end: 40 });
    expect(fits([[0, 30], [0, 5]], 10)).toEqual({ start: 30, end: 40 });
  });
});

describe('free ranges at the edges', () => {
  it('a slice wholly past the layer takes nothing; a layer of no buckets has no free range', () => {
    expect(freeRanges([{ start: 150, end: 160 }], 100)).toEqual([{ start: 0, end: 100 }]);
    expect(freeRanges([{ start: 40, end: 50 }, { start: 150, end: 160 }], 100)).toEqual([{ start: 0, end: 40 }, { start: 50, end: 100 }]);
    expect(freeRanges([{ start: 5, end: 6 }], 0)).toEqual([]);
    expect(freeRanges([], 0)).toEqual([]);
  });

  it('a slice starting before the layer covers from bucket 0', () => {
    expect(freeRanges([{ start: -10, end: 10 }], 100)).toEqual([{ start: 10, end: 100 }]);
    const space = new LayerSpace('l', 100);
    space.set('a', [{ key: 'a', version: 1, status: 'running', exposure: 1, start: -10, end: 10 }]);
    expect(space.freeRanges()).toEqual([{ start: 10, end: 100 }]);
  });
});

describe('room summaries, the plain definition and LayerSpace alike', () => {
  const m = (key: string, version: number, exposure: number, slice?: [number, number], status = 'running'): LayerMember => ({
    key, version, status, exposure, ...(slice ? { start: slice[0], end: slice[1] } : {}),
  });
  const rooms = (members: LayerMember[], total = 10_000, exclude?: string) => {
    const space = new LayerSpace('l', total);
    const keys = [...new Set(members.map((x) => x.key))];
    for (const k of keys) space.set(k, members.filter((x) => x.key === k));
    const plain = layerRoom('l', members.filter((x) => x.key !== exclude), total);
    expect(space.room(exclude)).toEqual(plain);
    return plain;
  };

  it('a full layer: nothing free, everything reserved', () => {
    expect(rooms([m('a', 1, 60, [0, 6000]), m('b', 1, 40, [6000, 10_000])])).toMatchObject({
      reserved: 10_000, largest_free: 0, free_range_count: 0, free_ranges: [], unplaced: 0, experiments: 2,
    });
  });

  it('an empty layer: one free range, the whole layer', () => {
    expect(rooms([])).toEqual({
      layer: 'l', total: 10_000, reserved: 0, unplaced: 0, largest_free: 10_000, free_range_count: 1,
      free_ranges: [{ start: 0, end: 10_000 }], experiments: 0, largest: [],
    });
    expect(new LayerSpace('l').room('anyone')).toEqual(layerRoom('l', []));
  });

  it('the speaker is the same whatever order the versions come in', () => {
    for (const order of [[0, 1], [1, 0]]) {
      const versions = [m('a', 1, 5, undefined, 'paused'), m('a', 2, 5, undefined, 'scheduled')];
      expect(rooms(order.map((i) => versions[i]!)).largest).toEqual([{ key: 'a', status: 'paused', exposure: 5 }]);
      const grown = [m('a', 1, 10, undefined, 'running'), m('a', 2, 30, undefined, 'approved')];
      expect(rooms(order.map((i) => grown[i]!)).largest).toEqual([{ key: 'a', status: 'approved', exposure: 30 }]);
      const shrunk = [m('a', 1, 30, undefined, 'running'), m('a', 2, 10, undefined, 'approved')];
      expect(rooms(order.map((i) => shrunk[i]!))).toMatchObject({ unplaced: 3000, largest: [{ key: 'a', status: 'running', exposure: 30 }] });
    }
  });

  it('an experiment with one placed version is placed: its unplaced versions ask nothing more', () => {
    for (const members of [
      [m('a', 1, 10, [0, 1000]), m('a', 2, 30)],
      [m('a', 2, 30), m('a', 1, 10, [0, 1000])],
    ]) {
      expect(rooms(members)).toMatchObject({ reserved: 1000, unplaced: 0, experiments: 1, largest: [{ key: 'a', exposure: 30 }] });
    }
    expect(rooms([m('a', 1, 10), m('a', 2, 30), m('b', 1, 12.345)])).toMatchObject({ unplaced: 3000 + 1235, reserved: 0 });
  });

  it('a member with only an end, or an inverted slice, holds no room', () => {
    const onlyEnd: LayerMember = { key: 'a', version: 1, status: 'running', exposure: 10, end: 500 };
    expect(rooms([onlyEnd, m('b', 1, 20, [700, 600])])).toMatchObject({ reserved: 0, unplaced: 3000, free_range_count: 1 });
  });

  it('the eight widest free ranges: ties go to the lowest start, then listed lowest start first', () => {
    // Ten gaps of width 5 and one of width 9, between one-bucket slices.
    const widths = [5, 5, 5, 9, 5, 5, 5, 5, 5, 5, 5];
    const members: LayerMember[] = [];
    let at = 0;
    widths.forEach((w, i) => {
      at += w;
      members.push(m(`k${i}`, 1, 0.01, [at, at + 1]));
      at += 1;
    });
    const room = rooms(members, at);
    expect(room.free_range_count).toBe(11);
    expect(room.largest_free).toBe(9);
    expect(room.free_ranges).toEqual([
      { start: 0, end: 5 }, { start: 6, end: 11 }, { start: 12, end: 17 }, { start: 18, end: 27 },
      { start: 28, end: 33 }, { start: 34, end: 39 }, { start: 40, end: 45 }, { start: 46, end: 51 },
    ]);
    expect(room.reserved).toBe(11);
  });

  it('the eleven-gap layer from above, in LayerSpace too: the widest eight, the narrow ones dropped', () => {
    const members: LayerMember[] = [];
    let at = 0;
    for (let w = 1; w <= 11; w++) {
      at += w;
      members.push(m(`k${w}`, 1, 0.01, [at, at + 1]));
      at += 1;
    }
    expect(rooms(members, at).free_ranges.map((f) => f.end - f.start)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    // Widest first in the input order too: the kept eight are the same.
    const reversed: LayerMember[] = [];
    at = 0;
    for (let w = 11; w >= 1; w--) {
      at += w;
      reversed.push(m(`k${w}`, 1, 0.01, [at, at + 1]));
      at += 1;
    }
    expect(rooms(reversed, at).free_ranges.map((f) => f.end - f.start)).toEqual([11, 10, 9, 8, 7, 6, 5, 4]);
  });

  it('lists the five largest members but the one asking, by exposure then key', () => {
    const members = ['g', 'f', 'e', 'd', 'c', 'b', 'a'].map((k, i) => m(k, 1, i < 3 ? 9 : 1, [i * 10, i * 10 + 5]));
    expect(rooms(members).largest.map((x) => x.key)).toEqual(['e', 'f', 'g', 'a', 'b']);
    expect(rooms(members, 10_000, 'f').largest.map((x) => x.key)).toEqual(['e', 'g', 'a', 'b', 'c']);
    expect(rooms(members, 10_000, 'a').largest.map((x) => x.key)).toEqual(['e', 'f', 'g', 'b', 'c']);
    expect(rooms(members, 10_000, 'f').experiments).toBe(6);
  });

  it('a replaced experiment moves in the ranking, and its old entry is gone', () => {
    const space = new LayerSpace('l');
    for (const [k, e] of [['a', 5], ['b', 10], ['c', 15]] as const) space.set(k, [m(k, 1, e)]);
    expect(space.room().largest.map((x) => [x.key, x.exposure])).toEqual([['c', 15], ['b', 10], ['a', 5]]);
    space.set('a', [m('a', 2, 20, undefined, 'approved')]);
    expect(space.room().largest).toEqual([
      { key: 'a', status: 'approved', exposure: 20 }, { key: 'c', status: 'running', exposure: 15 }, { key: 'b', status: 'running', exposure: 10 },
    ]);
    expect(space.room().unplaced).toBe(4500);
    space.set('c', [m('c', 1, 15, [0, 1500])]);
    expect(space.room()).toMatchObject({ unplaced: 3000, reserved: 1500, experiments: 3 });
    space.set('b', []);
    expect(space.room()).toMatchObject({ unplaced: 2000, experiments: 2, largest: [{ key: 'a' }, { key: 'c' }] });
    expect(space.room('a')).toMatchObject({ unplaced: 0, experiments: 1, largest: [{ key: 'c' }] });
    expect(space.room('c')).toMatchObject({ unplaced: 2000, reserved: 0, experiments: 1, largest: [{ key: 'a' }] });
  });

  it('refuses members set under another experiment', () => {
    const space = new LayerSpace('l');
    expect(() => space.set('a', [m('a', 1, 1), m('b', 1, 1)])).toThrow('member b set under a');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstFit, freeRanges, LayerSpace, layerRoom, overlaps, type LayerMember, type Slice } from '../../../src/flags/layer-allocator.js';

/**
 * LayerSpace is what the server asks for a layer's room, first fit and "is this slice free"; the
 * plain functions over the members are the definition. After any sequence of replacements, for the
 * intent of any experiment (its own members left out) and of a new one, both answer the same.
 */
describe('LayerSpace answers as layerRoom, freeRanges and firstFit over the same members', () => {
  const TOTAL = 200; // small, so that random slices overlap, touch and fill the layer
  const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
  const member = (key: string) =>
    fc
      .record({
        version: fc.integer({ min: 1, max: 3 }),
        status: fc.constantFrom('running', 'paused', 'scheduled', 'pending_approval', 'approved'),
        exposure: fc.integer({ min: 0, max: 12_000 }).map((n) => n / 100),
        start: fc.integer({ min: 0, max: TOTAL }),
        width: fc.integer({ min: -5, max: 80 }),
        placed: fc.boolean(),
      })
      .map(({ version, status, exposure, start, width, placed }): LayerMember => ({
        key,
        version,
        status,
        exposure,
        ...(placed ? { start, end: Math.min(TOTAL, start + width) } : {}),
      }));
  // One step: replace the members of one experiment (none: it leaves the layer).
  const step = fc.constantFrom(...KEYS).chain((key) => fc.tuple(fc.constant(key), fc.array(member(key), { maxLength: 3 })));
  const placed = (ms: LayerMember[]): Slice[] => ms.filter((m) => m.start !== undefined && m.end !== undefined && m.end > m.start).map((m) => ({ start: m.start!, end: m.end! }));

  it('after every replacement, for every experiment and for a new one', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), fc.integer({ min: 1, max: TOTAL }), fc.integer({ min: 0, max: TOTAL }), (steps, size, at) => {
        const space = new LayerSpace('l', TOTAL);
        const held = new Map<string, LayerMember[]>();
        for (const [key, list] of steps) {
          space.set(key, list);
          if (list.length) held.set(key, list);
          else held.delete(key);
          for (const exclude of [undefined, 'new', ...KEYS]) {
            const others = [...held.entries()].filter(([k]) => k !== exclude).flatMap(([, l]) => l);
            const slices = placed(others);
            const probe = { start: at, end: Math.min(TOTAL, at + size) };
            expect(space.room(exclude)).toEqual(layerRoom('l', others, TOTAL));
            expect(space.freeRanges(exclude)).toEqual(freeRanges(slices, TOTAL));
            expect(space.firstFit(size, exclude)).toEqual(firstFit(slices, size, TOTAL));
            expect(space.isFree(probe, exclude)).toBe(!slices.some((s) => overlaps(s, probe)));
          }
          expect(space.experiments).toBe(held.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hands out copies: changing an answer changes nothing kept', () => {
    const space = new LayerSpace('l');
    space.set('a', [{ key: 'a', version: 1, status: 'running', exposure: 10, start: 0, end: 1000 }]);
    const room = space.room('new');
    room.free_ranges[0]!.start = 0;
    room.largest[0]!.exposure = 99;
    expect(space.room('new')).toEqual(layerRoom('l', [{ key: 'a', version: 1, status: 'running', exposure: 10, start: 0, end: 1000 }]));
  });
});

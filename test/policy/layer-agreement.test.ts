import fs from 'node:fs';
import fc from 'fast-check';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { firstFit, freeRanges, LayerSpace, layerRoom, ROOM_MEMBERS, ROOM_RANGES, type LayerMember, type Slice } from '../../src/flags/layer-allocator.js';
import { parseBundle } from '../../src/policy/policy-bundle.js';
import { LoadedBundle, PolicyEngine } from '../../src/policy/policy-engine.js';
import { policyInputWith, probeInput } from '../../src/policy/policy-input.js';
import { InProcessRunner } from '../../src/policy/policy-runner.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

/**
 * The compiled policy's layer_capacity and the first-fit allocator must agree exactly: the policy
 * allows an intent in a layer exactly when the allocator finds it a contiguous slice, however
 * fragmented the layer, and the policy sees only the bounded room summary, never the members.
 */
describe('layer_capacity agrees with the first-fit allocator', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    // In process: this is about what the policy answers, not about the sandbox that bounds it.
    const runner = new InProcessRunner();
    engine = new PolicyEngine(pino({ level: 'silent' }), runner);
    engine.activate(await LoadedBundle.load(await parseBundle(fs.readFileSync(BUNDLE_PATH)), probeInput(new Date()), runner));
  });

  /** Exposure in percent (two decimals) whose buckets are `b`. */
  const pct = (b: number) => b / 100;
  const members = (slices: Slice[]): LayerMember[] =>
    slices.map((s, i) => ({ key: `m-${i}`, version: 1, status: 'running', exposure: pct(s.end - s.start), start: s.start, end: s.end }));

  /** The policy's verdict on an intent of `wanted` buckets in a layer holding these members. */
  function policyAllows(layerMembers: LayerMember[], wanted: number): { allowed: boolean; codes: string[]; input: unknown } {
    const intent = {
      key: 'new-exp',
      owner: 'growth',
      unit: 'user_id',
      services: [{ service: 'recommendations', flag: 'new_exp' }],
      variants: [
        { key: 'control', weight: 50, value: false },
        { key: 'treatment', weight: 50, value: true },
      ],
      exposure: pct(wanted),
      audience: [],
      data_access: [],
      layer: 'agree',
    };
    // What the server does: the layer's LayerSpace answers, and it answers as layerRoom over the others.
    const space = new LayerSpace(intent.layer);
    for (const k of new Set(layerMembers.map((m) => m.key))) space.set(k, layerMembers.filter((m) => m.key === k));
    const room = space.room(intent.key);
    expect(room).toEqual(layerRoom(intent.layer, layerMembers.filter((m) => m.key !== intent.key)));
    const input = policyInputWith(intent, { name: 'alice', role: 'owner', team: 'growth' }, new Date('2026-11-25T00:00:00Z'), { flags: [], layer_room: room });
    const { decision, failedClosed } = engine.evaluate(input);
    expect(failedClosed).toBe(false);
    const codes = decision.violations.map((v) => v.code);
    expect(codes.every((c) => c === 'layer_capacity')).toBe(true);
    return { allowed: decision.allow, codes, input };
  }

  /** Disjoint slices as first fit would leave them after some experiments ended: gaps of any size. */
  const fragmentedLayer = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 900 })), { maxLength: 60 })
    .map((steps) => {
      const slices: Slice[] = [];
      let cursor = 0;
      for (const [gap, size] of steps) {
        const start = cursor + gap;
        if (start + size > 10_000) break;
        slices.push({ start, end: start + size });
        cursor = start + size;
      }
      return slices;
    });

  it('allows exactly when first fit finds room (random fragmented layers)', () => {
    fc.assert(
      fc.property(fragmentedLayer, fc.integer({ min: 1, max: 10_000 }), (slices, wanted) => {
        const fits = firstFit(slices, wanted) !== null;
        expect(policyAllows(members(slices), wanted).allowed).toBe(fits);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees at the edge of the largest free range, which may be any of many gaps', () => {
    fc.assert(
      fc.property(fragmentedLayer, (slices) => {
        const largest = Math.max(0, ...freeRanges(slices).map((f) => f.end - f.start));
        if (largest > 0) expect(policyAllows(members(slices), largest).allowed).toBe(true);
        if (largest < 10_000) {
          const over = policyAllows(members(slices), largest + 1);
          expect(over.allowed).toBe(false);
          expect(over.codes).toEqual(['layer_capacity']);
          expect(firstFit(slices, largest + 1)).toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('fragmentation cases: room in total but no contiguous range, the largest gap last, one bucket gaps', () => {
    const cases: { slices: Slice[]; wanted: number; fits: boolean }[] = [
      // 2000 free in total, 1000 + 1000 apart
      { slices: [{ start: 0, end: 3000 }, { start: 4000, end: 7000 }, { start: 8000, end: 10_000 }], wanted: 1500, fits: false },
      { slices: [{ start: 0, end: 3000 }, { start: 4000, end: 7000 }, { start: 8000, end: 10_000 }], wanted: 1000, fits: true },
      // the largest gap is the last of many small ones
      { slices: Array.from({ length: 999 }, (_, i) => ({ start: i * 9 + 1, end: i * 9 + 9 })), wanted: 10_000 - 8991, fits: true },
      { slices: Array.from({ length: 999 }, (_, i) => ({ start: i * 9 + 1, end: i * 9 + 9 })), wanted: 10_000 - 8990, fits: false },
      // 1,000 one-bucket members every other bucket: 1,000 one-bucket gaps, then 8,000 free
      { slices: Array.from({ length: 1000 }, (_, i) => ({ start: 2 * i + 1, end: 2 * i + 2 })), wanted: 8000, fits: true },
      { slices: Array.from({ length: 1000 }, (_, i) => ({ start: 2 * i + 1, end: 2 * i + 2 })), wanted: 8001, fits: false },
      // 5,000 one-bucket gaps and no other room: one bucket fits, two do not
      { slices: Array.from({ length: 5000 }, (_, i) => ({ start: 2 * i + 1, end: 2 * i + 2 })), wanted: 1, fits: true },
      { slices: Array.from({ length: 5000 }, (_, i) => ({ start: 2 * i + 1, end: 2 * i + 2 })), wanted: 2, fits: false },
      // overlapping slices
      { slices: [{ start: 0, end: 5000 }, { start: 2000, end: 6000 }], wanted: 4000, fits: true },
      { slices: [{ start: 0, end: 5000 }, { start: 2000, end: 6000 }], wanted: 4001, fits: false },
    ];
    for (const c of cases) {
      expect(firstFit(c.slices, c.wanted) !== null, `allocator, ${c.slices.length} slices, ${c.wanted}`).toBe(c.fits);
      const verdict = policyAllows(members(c.slices), c.wanted);
      expect(verdict.allowed, `policy, ${c.slices.length} slices, ${c.wanted}`).toBe(c.fits);
      // bounded: a fixed number of ranges and members, whatever the layer holds
      const room = (verdict.input as { live: { layer_room: ReturnType<typeof layerRoom> } }).live.layer_room;
      expect(room.free_ranges.length).toBeLessThanOrEqual(ROOM_RANGES);
      expect(room.largest.length).toBeLessThanOrEqual(ROOM_MEMBERS);
      expect(room.experiments).toBe(c.slices.length);
    }
  });

  it('a member without a slice yet counts against the total, never lets the policy allow what the allocator cannot place', () => {
    fc.assert(
      fc.property(fragmentedLayer, fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 10_000 }), (slices, unplaced, wanted) => {
        const all = [...members(slices), { key: 'no-slice', version: 1, status: 'pending_approval', exposure: pct(unplaced) }];
        if (policyAllows(all, wanted).allowed) expect(firstFit(slices, wanted)).not.toBeNull();
      }),
      { numRuns: 200 },
    );
  });
});

describe('the room summary', () => {
  it('lists the largest free ranges and members, a bounded number of each', () => {
    const slices = Array.from({ length: 1000 }, (_, i) => ({ start: 3 * i + 1, end: 3 * i + 2 }));
    const m = slices.map((s, i) => ({ key: `k-${String(i).padStart(4, '0')}`, version: 1, status: 'running', exposure: 0.01, ...s }));
    m.push({ key: 'big', version: 2, status: 'pending_approval', exposure: 20, start: 3000, end: 5000 });
    m.push({ key: 'big', version: 1, status: 'running', exposure: 10, start: 5000, end: 6000 });
    const room = layerRoom('l', m);
    expect(room).toMatchObject({ layer: 'l', total: 10_000, reserved: 4000, unplaced: 0, largest_free: 4000, experiments: 1001 });
    expect(room.free_range_count).toBe(1002); // 1,000 gaps before the one-bucket members, [2999, 3000) and [6000, 10000)
    expect(room.free_ranges).toHaveLength(ROOM_RANGES);
    expect(room.free_ranges.at(-1)).toEqual({ start: 6000, end: 10_000 });
    expect(room.largest[0]).toEqual({ key: 'big', status: 'pending_approval', exposure: 20 });
    expect(room.largest).toHaveLength(ROOM_MEMBERS);
  });
});

export const LAYER_BUCKETS = 10_000;

/** How many free ranges, and how many of the largest members, a layer's room summary lists. */
export const ROOM_RANGES = 8;
export const ROOM_MEMBERS = 5;

export interface Slice {
  start: number;
  end: number;
}

/**
 * The free `[start, end)` ranges of a layer between the occupied slices, lowest first. Overlapping
 * or touching slices merge; empty slices take nothing.
 */
export function freeRanges(occupied: readonly Slice[], total = LAYER_BUCKETS): Slice[] {
  const sorted = occupied.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const free: Slice[] = [];
  let cursor = 0;
  for (const s of sorted) {
    if (s.start > cursor) free.push({ start: cursor, end: Math.min(s.start, total) });
    cursor = Math.max(cursor, s.end);
    if (cursor >= total) break;
  }
  if (cursor < total) free.push({ start: cursor, end: total });
  return free.filter((f) => f.end > f.start);
}

/**
 * First fit: the lowest free `[start, end)` range of `size` buckets among the occupied slices.
 * The policy's layer_capacity rule allows an intent exactly when the largest free range (given to it
 * in the layer's room summary, computed by `layerRoom` from these same ranges) holds `size`, so a
 * decision the policy allows always finds its room here, and the reverse.
 */
export function firstFit(occupied: readonly Slice[], size: number, total = LAYER_BUCKETS): Slice | null {
  if (size <= 0 || size > total) return null;
  const range = freeRanges(occupied, total).find((f) => f.end - f.start >= size);
  return range ? { start: range.start, end: range.start + size } : null;
}

export function overlaps(a: Slice, b: Slice): boolean {
  return a.start < b.end && b.start < a.end;
}

/** A live version of another experiment in a layer (what the room summary is built from). */
export interface LayerMember {
  key: string;
  version: number;
  status: string;
  exposure: number;
  start?: number;
  end?: number;
}

/**
 * A bounded summary of a layer for the policy: whatever the number of members, it holds a fixed
 * number of numbers and at most ROOM_RANGES ranges and ROOM_MEMBERS members (docs/layers.md).
 */
export interface LayerRoom {
  layer: string;
  total: number;
  /** Buckets covered by the slices other live experiments hold. */
  reserved: number;
  /** Buckets asked by other live experiments that hold no slice yet (largest version per experiment). */
  unplaced: number;
  /** Length of the largest free range: an intent fits exactly when its buckets are at most this. */
  largest_free: number;
  /** Number of free ranges, and the ROOM_RANGES largest of them (lowest start first). */
  free_range_count: number;
  free_ranges: Slice[];
  /** Number of other live experiments in the layer, and the ROOM_MEMBERS largest (largest first). */
  experiments: number;
  largest: { key: string; status: string; exposure: number }[];
}

const buckets = (exposure: number) => Math.round(exposure * 100);

/** The room summary of a layer from its members (other experiments' live versions). */
export function layerRoom(layer: string, members: readonly LayerMember[], total = LAYER_BUCKETS): LayerRoom {
  const slices: Slice[] = [];
  const byKey = new Map<string, { status: string; exposure: number; placed: boolean }>();
  for (const m of members) {
    const placed = m.start !== undefined && m.end !== undefined && m.end > m.start;
    if (placed) slices.push({ start: m.start!, end: m.end! });
    const seen = byKey.get(m.key);
    if (!seen) byKey.set(m.key, { status: m.status, exposure: m.exposure, placed });
    else {
      if (m.exposure > seen.exposure) {
        seen.exposure = m.exposure;
        seen.status = m.status;
      }
      seen.placed ||= placed;
    }
  }
  const free = freeRanges(slices, total);
  const freeTotal = free.reduce((n, f) => n + f.end - f.start, 0);
  let unplaced = 0;
  for (const m of byKey.values()) if (!m.placed) unplaced += buckets(m.exposure);
  const widest = [...free].sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
  const largest = [...byKey.entries()]
    .sort(([ka, a], [kb, b]) => b.exposure - a.exposure || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, ROOM_MEMBERS)
    .map(([key, m]) => ({ key, status: m.status, exposure: m.exposure }));
  return {
    layer,
    total,
    reserved: total - freeTotal,
    unplaced,
    largest_free: widest[0] ? widest[0].end - widest[0].start : 0,
    free_range_count: free.length,
    free_ranges: widest.slice(0, ROOM_RANGES).sort((a, b) => a.start - b.start),
    experiments: byKey.size,
    largest,
  };
}

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

/**
 * Which of an experiment's live versions in a layer speaks for it in the summary: the one asking
 * the most buckets; on equal exposure, the lowest version (the one that went live first).
 */
function speaksOver(a: LayerMember, b: LayerMember): boolean {
  return a.exposure > b.exposure || (a.exposure === b.exposure && a.version < b.version);
}

const isPlaced = (m: LayerMember): m is LayerMember & Slice => m.start !== undefined && m.end !== undefined && m.end > m.start;

/**
 * The room summary of a layer from its members (other experiments' live versions), computed from
 * scratch. The server keeps a `LayerSpace` per layer instead; this stays the plain definition the
 * tests hold that one to.
 */
export function layerRoom(layer: string, members: readonly LayerMember[], total = LAYER_BUCKETS): LayerRoom {
  const slices: Slice[] = [];
  const byKey = new Map<string, { speaker: LayerMember; placed: boolean }>();
  for (const m of members) {
    const placed = isPlaced(m);
    if (placed) slices.push({ start: m.start!, end: m.end! });
    const seen = byKey.get(m.key);
    if (!seen) byKey.set(m.key, { speaker: m, placed });
    else {
      if (speaksOver(m, seen.speaker)) seen.speaker = m;
      seen.placed ||= placed;
    }
  }
  const free = freeRanges(slices, total);
  const freeTotal = free.reduce((n, f) => n + f.end - f.start, 0);
  let unplaced = 0;
  for (const m of byKey.values()) if (!m.placed) unplaced += buckets(m.speaker.exposure);
  const widest = [...free].sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
  const largest = [...byKey.entries()]
    .map(([key, m]) => ({ key, status: m.speaker.status, exposure: m.speaker.exposure }))
    .sort(byExposure)
    .slice(0, ROOM_MEMBERS);
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

type Ranked = LayerRoom['largest'][number];

/** Callers get their own copy of a kept summary (a few dozen numbers). */
const copyRoom = (r: LayerRoom): LayerRoom => ({ ...r, free_ranges: r.free_ranges.map((f) => ({ ...f })), largest: r.largest.map((m) => ({ ...m })) });

/** Largest exposure first, then by key. */
function byExposure(a: Ranked, b: Ranked): number {
  return b.exposure - a.exposure || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * One layer's live members held in memory, so that its room summary, first fit and "is this slice
 * free" cost the same whether the layer holds 10 or 10,000 experiments (docs/layers.md): a count
 * per bucket of the slices covering it (the layer has LAYER_BUCKETS buckets whatever its members),
 * the members ranked by exposure, and the buckets asked by members without a slice. Replacing one
 * experiment's members (`set`) costs its slices' width and a binary search; answering for an
 * experiment leaves its own members out, as `layerRoom` over the others would. It answers exactly
 * as `layerRoom`, `freeRanges` and `firstFit` over the same members (test/unit/flags/layer-space.test.ts).
 */
export class LayerSpace {
  /** Working copy of the counts for an answer without one experiment (one thread: shared by all spaces). */
  private static scratch = new Int32Array(0);
  private readonly cover: Int32Array;
  private readonly members = new Map<string, { list: LayerMember[]; speaker: LayerMember; placed: boolean }>();
  private readonly ranked: Ranked[] = [];
  private unplaced = 0;
  /** The summary and free ranges with every member counted; dropped on every change. */
  private memo: { free: Slice[]; room: LayerRoom } | null = null;

  constructor(
    readonly layer: string,
    readonly total = LAYER_BUCKETS,
  ) {
    this.cover = new Int32Array(total);
  }

  /** How many experiments hold room here. */
  get experiments(): number {
    return this.members.size;
  }

  has(key: string): boolean {
    return this.members.has(key);
  }

  /** Replaces the live members of experiment `key` in this layer (none: it leaves the layer). */
  set(key: string, list: readonly LayerMember[]): void {
    const old = this.members.get(key);
    if (!old && list.length === 0) return;
    this.memo = null;
    if (old) {
      for (const m of old.list) if (isPlaced(m)) this.paint(this.cover, m, -1);
      if (!old.placed) this.unplaced -= buckets(old.speaker.exposure);
      this.ranked.splice(this.rank({ key, exposure: old.speaker.exposure, status: old.speaker.status }), 1);
      this.members.delete(key);
    }
    if (list.length === 0) return;
    let speaker = list[0]!;
    let placed = false;
    for (const m of list) {
      if (m.key !== key) throw new Error(`member ${m.key} set under ${key}`);
      if (speaksOver(m, speaker)) speaker = m;
      if (isPlaced(m)) {
        placed = true;
        this.paint(this.cover, m, 1);
      }
    }
    if (!placed) this.unplaced += buckets(speaker.exposure);
    const entry = { key, exposure: speaker.exposure, status: speaker.status };
    this.ranked.splice(this.rank(entry), 0, entry);
    this.members.set(key, { list: [...list], speaker, placed });
  }

  /** The free ranges left by every member but `exclude`'s, lowest first (as `freeRanges`). */
  freeRanges(exclude?: string): Slice[] {
    const own = exclude === undefined ? undefined : this.members.get(exclude);
    if (!own?.placed) return this.all().free;
    if (LayerSpace.scratch.length !== this.total) LayerSpace.scratch = new Int32Array(this.total);
    const scratch = LayerSpace.scratch;
    scratch.set(this.cover);
    for (const m of own.list) if (isPlaced(m)) this.paint(scratch, m, -1);
    return this.scan(scratch);
  }

  /** First fit among every member but `exclude`'s (as `firstFit` over their slices). */
  firstFit(size: number, exclude?: string): Slice | null {
    if (size <= 0 || size > this.total) return null;
    const range = this.freeRanges(exclude).find((f) => f.end - f.start >= size);
    return range ? { start: range.start, end: range.start + size } : null;
  }

  /** True when no member but `exclude` holds a bucket of `slice`. */
  isFree(slice: Slice, exclude?: string): boolean {
    const own = exclude === undefined ? undefined : this.members.get(exclude)?.list.filter(isPlaced);
    for (let b = Math.max(0, slice.start); b < Math.min(slice.end, this.total); b++) {
      let n = this.cover[b]!;
      if (own) for (const m of own) if (m.start <= b && b < m.end) n--;
      if (n > 0) return false;
    }
    return true;
  }

  /** The room summary of the layer for an intent of experiment `exclude` (as `layerRoom` over the others). */
  room(exclude?: string): LayerRoom {
    const own = exclude === undefined ? undefined : this.members.get(exclude);
    if (!own) return copyRoom(this.all().room);
    const free = own.placed ? this.freeRanges(exclude) : this.all().free;
    return this.summary(free, this.members.size - 1, this.unplaced - (own.placed ? 0 : buckets(own.speaker.exposure)), exclude);
  }

  private all(): { free: Slice[]; room: LayerRoom } {
    if (!this.memo) {
      const free = this.scan(this.cover);
      this.memo = { free, room: this.summary(free, this.members.size, this.unplaced) };
    }
    return this.memo;
  }

  private summary(free: Slice[], experiments: number, unplaced: number, exclude?: string): LayerRoom {
    let freeTotal = 0;
    // The ROOM_RANGES widest ranges (ties: lowest start), kept sorted while scanning once. `free` comes
    // lowest start first, so a range never goes before one of equal width kept already: strictly wider
    // is the whole test.
    const widest: Slice[] = [];
    const wider = (a: Slice, b: Slice) => a.end - a.start > b.end - b.start;
    for (const f of free) {
      freeTotal += f.end - f.start;
      if (widest.length === ROOM_RANGES && !wider(f, widest[ROOM_RANGES - 1]!)) continue;
      let i = widest.length;
      while (i > 0 && wider(f, widest[i - 1]!)) i--;
      widest.splice(i, 0, f);
      if (widest.length > ROOM_RANGES) widest.pop();
    }
    const largest: Ranked[] = [];
    for (const r of this.ranked) {
      if (largest.length === ROOM_MEMBERS) break;
      if (r.key !== exclude) largest.push({ ...r });
    }
    return {
      layer: this.layer,
      total: this.total,
      reserved: this.total - freeTotal,
      unplaced,
      largest_free: widest[0] ? widest[0].end - widest[0].start : 0,
      free_range_count: free.length,
      free_ranges: widest.map((f) => ({ ...f })).sort((a, b) => a.start - b.start),
      experiments,
      largest,
    };
  }

  /** Where `entry` sits (or would) in `ranked`: binary search on (exposure desc, key). */
  private rank(entry: Ranked): number {
    let lo = 0;
    let hi = this.ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byExposure(this.ranked[mid]!, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private paint(cover: Int32Array, s: Slice, by: number): void {
    const end = Math.min(s.end, this.total);
    for (let b = Math.max(0, s.start); b < end; b++) cover[b]! += by;
  }

  /** The runs of uncovered buckets, lowest first: one pass over the layer's buckets. */
  private scan(cover: Int32Array): Slice[] {
    const free: Slice[] = [];
    let start = -1;
    for (let b = 0; b < this.total; b++) {
      if (cover[b] === 0) {
        if (start < 0) start = b;
      } else if (start >= 0) {
        free.push({ start, end: b });
        start = -1;
      }
    }
    if (start >= 0) free.push({ start, end: this.total });
    return free;
  }
}

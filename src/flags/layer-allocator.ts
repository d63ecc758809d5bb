export const LAYER_BUCKETS = 10_000;

export interface Slice {
  start: number;
  end: number;
}

/**
 * First fit: the lowest free `[start, end)` range of `size` buckets among the occupied slices.
 * The policy's layer_capacity rule computes the same gaps, so a decision the policy allows always
 * finds its room here, and the reverse.
 */
export function firstFit(occupied: readonly Slice[], size: number, total = LAYER_BUCKETS): Slice | null {
  if (size <= 0 || size > total) return null;
  const sorted = [...occupied].sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = 0;
  for (const s of sorted) {
    if (s.start - cursor >= size) return { start: cursor, end: cursor + size };
    cursor = Math.max(cursor, s.end);
  }
  return total - cursor >= size ? { start: cursor, end: cursor + size } : null;
}

export function overlaps(a: Slice, b: Slice): boolean {
  return a.start < b.end && b.start < a.end;
}

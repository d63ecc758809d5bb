// @ts-check
/**
 * The picture of a layer, pure (no DOM, tested in node: test/unit/console/layer-model.test.ts):
 * which versions hold a slice of its 10000 buckets, and the free room between them. "Live" is the
 * server's definition (src/intents/intent-store.ts): the experiment is neither completed nor
 * archived, and the version is the active one, or the current one while it is not rolled back
 * from and is pending approval or approved. Such a version holds its slice against the other
 * experiments even before it is approved.
 */

/** @typedef {import('../../types.js').IntentDetail} IntentDetail */

/** Buckets in a layer (SPEC §5). */
export const LAYER_BUCKETS = 10000;

/**
 * One version's claim in a layer: its slice, or none (an unplaced claim, e.g. a ship).
 * @typedef {{ key: string, version: number, live: boolean, status: string, state: string, slice: { start: number, end: number } | null }} Claim
 */

/**
 * The versions of one experiment that hold room in its layer, from its detail
 * (GET /v1/intents/{key}): the live one (`live: true`) and a newer one waiting for approval or
 * approved but not yet live.
 * @param {IntentDetail} exp
 * @returns {Claim[]}
 */
export function claimsOf(exp) {
  if (exp.state === 'completed' || exp.state === 'archived') return [];
  /** @type {Claim[]} */
  const out = [];
  for (const v of exp.versions) {
    const active = v.version === exp.active_version;
    const current = v.version === exp.version && !v.rolled_back_at && (v.status === 'pending_approval' || v.status === 'approved');
    if (!active && !current) continue;
    out.push({
      key: exp.key,
      version: v.version,
      live: active,
      status: v.status,
      state: exp.state,
      slice: v.slice ?? null,
    });
  }
  return out;
}

/**
 * The free ranges of a layer: the buckets no claim's slice covers, lowest first.
 * @param {{ slice: { start: number, end: number } | null }[]} claims
 * @param {number} [total]
 * @returns {{ start: number, end: number }[]}
 */
export function freeRanges(claims, total = LAYER_BUCKETS) {
  const slices = claims
    .map((c) => c.slice)
    .filter((s) => s !== null && s.end > s.start)
    .map((s) => /** @type {{ start: number, end: number }} */ (s))
    .sort((a, b) => a.start - b.start);
  /** @type {{ start: number, end: number }[]} */
  const free = [];
  let at = 0;
  for (const s of slices) {
    if (s.start > at) free.push({ start: at, end: Math.min(s.start, total) });
    at = Math.max(at, s.end);
  }
  if (at < total) free.push({ start: at, end: total });
  return free;
}

/**
 * A layer's picture: its claims with a slice by start, those without one, the free ranges, and
 * the buckets free in all.
 * @template {Claim} C
 * @param {string} layer
 * @param {C[]} claims
 */
export function layerPicture(layer, claims) {
  const placed = claims.filter((c) => c.slice !== null).sort((a, b) => /** @type {number} */ (a.slice?.start) - /** @type {number} */ (b.slice?.start) || a.key.localeCompare(b.key) || a.version - b.version);
  const unplaced = claims.filter((c) => c.slice === null);
  const free = freeRanges(placed);
  const freeBuckets = free.reduce((n, r) => n + r.end - r.start, 0);
  return { layer, total: LAYER_BUCKETS, placed, unplaced, free, freeBuckets };
}

/** A share of the layer as a percentage: 450 buckets → "4.5 %". @param {number} buckets */
export function share(buckets) {
  return `${Number(((buckets * 100) / LAYER_BUCKETS).toFixed(2))} %`;
}

/**
 * A variant split: each variant's share of the units in the experiment, the first (control)
 * marked.
 * @param {{ key: string, weight: number }[]} variants
 * @returns {{ key: string, weight: number, percent: number, control: boolean }[]}
 */
export function splitOf(variants) {
  const sum = variants.reduce((n, v) => n + v.weight, 0);
  return variants.map((v, i) => ({ key: v.key, weight: v.weight, percent: sum > 0 ? Number(((v.weight * 100) / sum).toFixed(2)) : 0, control: i === 0 }));
}

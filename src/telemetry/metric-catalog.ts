/** How a metric is aggregated per unit, and which direction is an improvement (SPEC §10). */
export interface MetricSpec {
  type: 'binary' | 'mean';
  better: Better;
}

/** Which direction of a metric is an improvement. */
export const BETTER = ['lower', 'higher'] as const;
export type Better = (typeof BETTER)[number];

export type MetricCatalog = ReadonlyMap<string, MetricSpec>;

/** The SPEC §10 catalog, used while the active policy's data carries none. */
export const DEFAULT_METRICS: MetricCatalog = new Map<string, MetricSpec>([
  ['error_rate', { type: 'binary', better: 'lower' }],
  ['latency_ms', { type: 'mean', better: 'lower' }],
  ['conversion', { type: 'binary', better: 'higher' }],
]);

const cache = new WeakMap<object, MetricCatalog>();

/**
 * The metric catalog: `switchyard.catalog.metrics` of the active bundle's data
 * (`{"error_rate": {"type": "binary", "better": "lower"}, …}`) when it has one, else the SPEC's three.
 * The one place the catalog is read, so telemetry and analysis agree on it. An entry of another shape
 * is left out rather than guessed at.
 */
export function metricCatalog(data: Record<string, unknown> | undefined): MetricCatalog {
  const sw = data?.['switchyard'];
  const catalog = isRecord(sw) ? sw['catalog'] : undefined;
  const metrics = isRecord(catalog) ? catalog['metrics'] : undefined;
  if (!isRecord(metrics)) return DEFAULT_METRICS;
  const hit = cache.get(metrics);
  if (hit) return hit;
  const out = new Map<string, MetricSpec>();
  for (const [name, spec] of Object.entries(metrics)) {
    if (!isRecord(spec)) continue;
    const { type, better } = spec;
    if ((type === 'binary' || type === 'mean') && (better === 'lower' || better === 'higher')) out.set(name, { type, better });
  }
  cache.set(metrics, out);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

import diff from 'microdiff';

/**
 * One difference between the active bundle's data document (`data.json`) and a candidate's: the
 * catalog's services and tiers, exposure caps, metrics, approval rules, whatever the bundle holds.
 * `path` names the member from the document's root, one segment per key. An array is one value
 * (a service's data classes, a tier's approvals): a change inside it is shown as the whole array
 * before and after, which reads better than element indices.
 */
export type DataChange =
  | { path: string[]; change: 'added'; after: unknown }
  | { path: string[]; change: 'removed'; before: unknown }
  | { path: string[]; change: 'changed'; before: unknown; after: unknown };

export interface DataChanges {
  changes: DataChange[];
  /** How many further changes were left out past the limit. */
  omitted: number;
}

/** The most changes a preview lists: a rewritten catalog is reported by its first changes and a count. */
export const DATA_CHANGES_LIMIT = 500;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function at(doc: unknown, path: string[]): { found: boolean; value: unknown } {
  let v: unknown = doc;
  for (const key of path) {
    if (!isObject(v) || !Object.prototype.hasOwnProperty.call(v, key)) return { found: false, value: undefined };
    v = v[key];
  }
  return { found: true, value: v };
}

/**
 * The differences from `before` (the active revision's data; `{}` when none is loaded) to `after`
 * (the candidate's), sorted by path, at most `limit` of them. Pure: the preview computes it from the
 * two bundles the server holds.
 */
export function dataChanges(before: Record<string, unknown>, after: Record<string, unknown>, limit = DATA_CHANGES_LIMIT): DataChanges {
  const paths = new Map<string, string[]>();
  for (const d of diff(before, after)) {
    // Up to the first array index: an array changes as a whole.
    const cut = d.path.findIndex((p) => typeof p === 'number');
    const path = (cut === -1 ? d.path : d.path.slice(0, cut)).map(String);
    paths.set(JSON.stringify(path), path);
  }
  const changes: DataChange[] = [];
  for (const path of [...paths.values()].sort(comparePaths)) {
    const b = at(before, path);
    const a = at(after, path);
    if (!b.found) changes.push({ path, change: 'added', after: a.value });
    else if (!a.found) changes.push({ path, change: 'removed', before: b.value });
    else changes.push({ path, change: 'changed', before: b.value, after: a.value });
  }
  return { changes: changes.slice(0, limit), omitted: Math.max(0, changes.length - limit) };
}

function comparePaths(x: string[], y: string[]): number {
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

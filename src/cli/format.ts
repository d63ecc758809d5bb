/** Plain-text rendering for people: aligned tables and short forms. `--json` bypasses all of it. */

/** An aligned table with a header row; cells are single-line strings. */
export function table(headers: string[], rows: string[][]): string {
  const clean = (s: string) => s.replace(/[\r\n\t]+/g, ' ');
  const all = [headers, ...rows.map((r) => r.map(clean))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `sha256:02b0b7b4b129…` rather than 71 characters; the full value is in `--json`. */
export function shortRevision(rev: string | null | undefined): string {
  if (!rev) return '(none)';
  const m = /^(sha256:)([0-9a-f]{64})$/.exec(rev);
  return m ? `${m[1]}${m[2]!.slice(0, 12)}…` : rev;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A JSON value on one line, strings unquoted when they read unambiguously. */
export function showValue(v: unknown): string {
  if (typeof v === 'string' && v !== '' && !/^(true|false|null|-?\d[\d.eE+-]*)$/.test(v) && !/[\s"]/.test(v)) return v;
  return JSON.stringify(v) ?? 'undefined';
}

export function orDash(v: unknown): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

/** Plain-text rendering for people: aligned tables and short forms. `--json` bypasses all of it. */

/**
 * What a terminal must never receive raw from data: C0 (newline included), DEL, C1, and the
 * bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which can make a line
 * read as something else ("Trojan Source").
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every unsafe character written as a `\uXXXX` escape, so it shows and cannot act. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Multi-line human text whose lines are the CLI's own: everything but its newlines is escaped. */
export function escapeLines(text: string): string {
  return text.split('\n').map(escapeText).join('\n');
}

/**
 * A copy of a server answer with every string (keys of objects too) escaped, newlines included:
 * what the human renderers read, so no stored value can forge a line or drive the terminal.
 */
export function escapeDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeText(value) as T;
  if (Array.isArray(value)) return value.map(escapeDeep) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeText(k), escapeDeep(v)])) as T;
  }
  return value;
}

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

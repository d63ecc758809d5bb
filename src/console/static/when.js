// @ts-check
/**
 * Times as people read them: "3 hours ago", "in 2 days", with the exact instant beside it. Pure
 * (no DOM, the clock passed in), so the one formatting rule is unit-tested in node with a fixed
 * clock (test/unit/console/when.test.ts). The words come from the platform's
 * Intl.RelativeTimeFormat, not from a table of our own.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The unit a distance is told in, the largest that keeps the number at least 1, and the limit (in
 * ms, exclusive) under which it is used: 59 minutes are "59 minutes", 60 are "1 hour".
 * @type {[Intl.RelativeTimeFormatUnit, number, number][]}
 */
const UNITS = [
  ['second', SECOND, MINUTE],
  ['minute', MINUTE, HOUR],
  ['hour', HOUR, DAY],
  ['day', DAY, 60 * DAY],
  ['month', 30 * DAY, 365 * DAY],
  ['year', 365 * DAY, Infinity],
];

/** Under this distance an instant is "just now" (a second or two of skew between clocks is noise). */
const JUST_NOW = 45 * SECOND;

const words = new Intl.RelativeTimeFormat('en', { numeric: 'always', style: 'long' });

/**
 * How far `iso` is from `now`, in words: "just now", "5 minutes ago", "in 2 days". Whole units,
 * rounded down (a time 1 h 59 min ago is "1 hour ago", never "2 hours ago" before it is). Null
 * when `iso` is not a time.
 * @param {string} iso
 * @param {number} now milliseconds since the epoch (Date.now() in the page)
 * @returns {string | null}
 */
export function relativeTime(iso, now) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return null;
  const diff = at - now;
  const dist = Math.abs(diff);
  if (dist < JUST_NOW) return 'just now';
  for (const [unit, size, below] of UNITS) {
    if (dist < below) return words.format(Math.sign(diff) * Math.max(1, Math.floor(dist / size)), unit);
  }
  return null;
}

/**
 * The exact instant, to the second, in UTC: "2026-11-25 12:00:00 UTC". Null when not a time.
 * @param {string} iso
 * @returns {string | null}
 */
export function exactTime(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return null;
  return new Date(at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

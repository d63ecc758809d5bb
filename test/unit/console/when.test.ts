import { describe, expect, it } from 'vitest';

/** The console's one rule for showing a time (src/console/static/when.js), run in node with a fixed clock. */
const modulePath = '../../../src/console/static/when.js';
const { relativeTime, exactTime } = (await import(modulePath)) as {
  relativeTime: (iso: string, now: number) => string | null;
  exactTime: (iso: string) => string | null;
};

const NOW = Date.parse('2026-11-25T15:00:00Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

describe('relativeTime (how the console shows a time)', () => {
  it.each([
    [0, 'just now'],
    [-44 * S, 'just now'],
    [44 * S, 'just now'],
    [-45 * S, '45 seconds ago'],
    [-59 * S, '59 seconds ago'],
    [-60 * S, '1 minute ago'],
    [-(59 * MIN + 59 * S), '59 minutes ago'],
    [-H, '1 hour ago'],
    [-3 * H, '3 hours ago'],
    [-(2 * H - 1), '1 hour ago'],
    [-(24 * H - 1), '23 hours ago'],
    [-D, '1 day ago'],
    [2 * D, 'in 2 days'],
    [5 * MIN, 'in 5 minutes'],
    [-59 * D, '59 days ago'],
    [-60 * D, '2 months ago'],
    [-364 * D, '12 months ago'],
    [-365 * D, '1 year ago'],
    [3 * 365 * D, 'in 3 years'],
  ])('%d ms from now is "%s"', (offset, text) => {
    expect(relativeTime(at(offset), NOW)).toBe(text);
  });

  it('reads any ISO form (offsets, no milliseconds) by its instant', () => {
    expect(relativeTime('2026-11-25T12:00:00Z', NOW)).toBe('3 hours ago');
    expect(relativeTime('2026-11-25T13:00:00+01:00', NOW)).toBe('3 hours ago');
  });

  it('gives null for what is not a time, so the caller shows it as it came', () => {
    expect(relativeTime('not a time', NOW)).toBeNull();
    expect(exactTime('not a time')).toBeNull();
  });
});

describe('exactTime (the instant on hover)', () => {
  it('is the instant in UTC to the second', () => {
    expect(exactTime('2026-11-25T12:00:00.000Z')).toBe('2026-11-25 12:00:00 UTC');
    expect(exactTime('2026-11-25T13:00:00.123+01:00')).toBe('2026-11-25 12:00:00 UTC');
  });
});

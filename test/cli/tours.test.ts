import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ManualClock } from '../../src/clock.js';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { CLI_JS, ensureCliBuilt } from './cli-process.js';

/**
 * The two tours, as scripts (docs/tour.sh with curl, shown in the README; docs/cli-tour.sh with the
 * CLI, shown in docs/cli.md), run one after the other against one server in both orders, as a new
 * user following them does.
 * Each keeps to its own keys, team and flags, so neither trips on what the other left behind.
 */
const run = (script: string, base: string, today = DEFAULT_TODAY) =>
  promisify(execFile)('bash', [path.join(ROOT, 'docs', script)], {
    cwd: ROOT,
    env: {
      PATH: `${dateShim(today)}${path.delimiter}${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? '',
      SWITCHYARD_URL: base,
      SWITCHYARD_TOKEN: ADMIN_TOKEN,
      SWITCHYARD_CLI: `${process.execPath} ${CLI_JS}`,
    },
  });

/** The day of the harness's default ManualClock (2026-11-25T12:00:00Z). */
const DEFAULT_TODAY = '2026-11-25';

/**
 * The tours' clock, for the tour's user is on the server's day: the curl tour computes its schedule
 * from `date -u +%F` (docs/tour.sh, `scheduled`), so a `date` first on PATH answers the server's
 * ManualClock day. It answers nothing else (it says so on stderr), so a new use of `date` is noticed.
 */
const shims = new Map<string, string>();
function dateShim(today: string): string {
  let dir = shims.get(today);
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-date-'));
    fs.writeFileSync(path.join(dir, 'date'), `#!/bin/sh\n[ "$*" = "-u +%F" ] || { echo "date shim: unexpected arguments: $*" >&2; exit 2; }\necho ${today}\n`, { mode: 0o755 });
    shims.set(today, dir);
  }
  return dir;
}
afterAll(() => {
  for (const dir of shims.values()) fs.rmSync(dir, { recursive: true, force: true });
});

/** Problem documents the curl tour printed (it pretty-prints every answer). */
const problems = (out: string) => [...out.matchAll(/"code": "([a-z_]+)",\n\s*"detail"/g)].map((m) => m[1]);

/** The curl tour as the README shows it: its fenced blocks between "## A tour" and the next section. */
const readmeTour = () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## A tour with real output\n');
  expect(start, 'the README has its tour').toBeGreaterThanOrEqual(0);
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
};

/** Every `"status":"…","state":"…"` pair the README's tour shows, in order. */
const shownOutcomes = (text: string) => [...text.matchAll(/"status":"([a-z_]+)","state":"([a-z_]+)"/g)].map((m) => `${m[1]} ${m[2]}`);

function checkCurlTour(out: string) {
  // What the README shows is what the script prints (pretty-printed there, one line in the README).
  const printed = [...out.matchAll(/"status": "([a-z_]+)",\s*"state": "([a-z_]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
  const shown = shownOutcomes(readmeTour());
  expect(shown.length).toBeGreaterThanOrEqual(4);
  expect(printed).toEqual(shown);

  // The one refusal it shows on purpose: an owner may not approve.
  expect(problems(out)).toEqual(['forbidden']);
  expect(out).toMatch(/"key": "search-ranking",\s*"version": 1\s*},\s*"status": "approved"/);
  // The SPEC example has no schedule in docs/examples: approved, it runs at once, on any date.
  expect(out).toMatch(/"key": "checkout-redesign",\s*"version": 1\s*},\s*"status": "approved",\s*"state": "running"/);
  // The schedule the tour computes is still ahead of the server, whatever its day.
  expect(out).toMatch(/"key": "gift-wrap",\s*"version": 1\s*},\s*"status": "approved",\s*"state": "scheduled"/);
  expect(out).toMatch(/\n304\n/);
}

function checkCliTour(out: string) {
  expect(out).toContain('✗ Winter_Promo v1: would be denied, 3 violations');
  expect(out).toContain('✓ recs-carousel v1: approved; state running');
  expect(out).toContain('… one-click-pay v1: pending approval (needs 1 approval by role sre); state draft');
  expect(out).toContain('one-click-pay: pause done; state paused, active version 1');
  expect(out).not.toMatch(/^exit=[^03]/m);
}

function checkRolloutTour(out: string) {
  expect(out).toMatch(/stage 2\/3 at 50%/);
  expect(out).toContain('hold_not_elapsed');
  expect(out).toMatch(/"state":"paused","rollout":\{[^}]*"status":"halted"/);
  expect(out).toMatch(/guardrail_tripped/);
}

describe('the curl and CLI tours run one after the other, in either order', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    await ensureCliBuilt();
    [a, b] = await Promise.all([startServer(), startServer()]);
  }, 180_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('curl tour, then CLI tour', async () => {
    checkCurlTour((await run('tour.sh', a.base)).stdout);
    checkCliTour((await run('cli-tour.sh', a.base)).stdout);
  }, 90_000);

  it('CLI tour, then curl tour', async () => {
    checkCliTour((await run('cli-tour.sh', b.base)).stdout);
    checkCurlTour((await run('tour.sh', b.base)).stdout);
  }, 90_000);

  it('the tour output the docs show names the policy revision this build makes', async () => {
    const active = (await a.api.get('/v1/policy')).body.revision as string;
    expect(active).toMatch(/^sha256:[0-9a-f]{64}$/);
    const shown = ['README.md', 'docs/cli.md', 'docs/rollouts.md'].flatMap((page) =>
      [...fs.readFileSync(path.join(ROOT, page), 'utf8').matchAll(/(?:"policy_revision":"|policy:\s+|policy |active )(sha256:[0-9a-f]{8,64})/g)].map((m) => `${page}: ${m[1]}`));
    expect(shown.length).toBeGreaterThanOrEqual(10);
    // Each is the active revision, whole or cut: refresh the pages (docs/*tour.sh) after a policy change.
    expect(shown.filter((s) => !active.startsWith(s.slice(s.indexOf(' ') + 1)))).toEqual([]);
  });

  it('the guarded-rollout tour (docs/rollouts.md), with the guardrail loop running as main.ts runs it', async () => {
    const s = await startServer();
    try {
      s.container.guardrails.start(200);
      const { stdout, stderr } = await run('rollout-tour.sh', s.base);
      // The CLI writes refusals to stderr, as a terminal shows them between the commands.
      checkRolloutTour(stdout + stderr);
    } finally {
      s.container.guardrails.stop();
      await s.close();
    }
  }, 120_000);
});

/**
 * The tours on any date (docs/dates.md): a new user runs them on the day they clone the repository.
 * Today, and four and a half years on: a fixed date in a shipped example or a tour would be caught on
 * one of them or both (a schedule ending in the past is denied, one still ahead leaves the experiment
 * `scheduled`, and the policy's 90-day limit means no fixed schedule suits both days).
 */
describe('the tours and the shipped examples work on any date', () => {
  const DAY = 86_400_000;
  const DATES = ['2026-11-30T09:00:00Z', '2031-06-01T09:00:00Z'];

  beforeAll(() => ensureCliBuilt(), 180_000);

  for (const at of DATES) {
    it(`on ${at.slice(0, 10)}: the curl tour's experiments are approved and running, its scheduled one starts when due; the CLI tour runs as shown`, async () => {
      const today = at.slice(0, 10);
      const s = await startServer({ clock: new ManualClock(at) });
      try {
        checkCurlTour((await run('tour.sh', s.base, today)).stdout);
        checkCliTour((await run('cli-tour.sh', s.base, today)).stdout);
        const intent = async (key: string) => (await s.api.get(`/v1/intents/${key}`)).body;
        expect(await intent('search-ranking')).toMatchObject({ status: 'approved', state: 'running' });
        expect(await intent('checkout-redesign')).toMatchObject({ status: 'approved', state: 'running' });
        expect(await intent('recs-carousel')).toMatchObject({ status: 'approved', state: 'running' });
        expect(await intent('one-click-pay')).toMatchObject({ status: 'approved', state: 'paused' });

        // gift-wrap's schedule is the one the tour computed from the day: tomorrow, for 30 days.
        const day = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) + n * DAY).toISOString().replace('.000Z', 'Z');
        const gift = await intent('gift-wrap');
        expect(gift).toMatchObject({ status: 'approved', state: 'scheduled', intent: { schedule: { start: day(1), end: day(31) } } });
        const web = async () => (await s.api.get('/v1/services/web/flags')).body.flags as Record<string, { state: string }>;
        expect(Object.keys(await web()).sort()).toEqual(['checkout_redesign', 'ranking_banner']);
        s.clock.set(day(1));
        expect((await s.container.lifecycle.tick()).started).toEqual(['gift-wrap']);
        expect(await intent('gift-wrap')).toMatchObject({ state: 'running' });
        expect(await web()).toMatchObject({ gift_wrap: { state: 'ENABLED' }, checkout_redesign: { state: 'ENABLED' }, ranking_banner: { state: 'ENABLED' } });
      } finally {
        await s.close();
      }
    }, 120_000);
  }

  it('every shipped example (docs/examples) gets the same decision on both dates, none of it about a schedule', async () => {
    const dir = path.join(ROOT, 'docs/examples');
    const files = [...fs.readdirSync(dir).filter((f) => f.endsWith('.json')), ...fs.readdirSync(path.join(dir, 'cli')).map((f) => `cli/${f}`)].sort();
    expect(files.length).toBeGreaterThanOrEqual(8);
    const servers = await Promise.all(DATES.map((at) => startServer({ clock: new ManualClock(at) })));
    try {
      const decide = async (s: TestServer, file: string) => {
        const text = fs.readFileSync(path.join(dir, file), 'utf8');
        const res = await s.api.post('/v1/intents:evaluate', file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text));
        expect(res.status, `${file}: ${res.text}`).toBe(200);
        return { file, status: res.body.status, codes: (res.body.decision.violations as { code: string }[]).map((v) => v.code).sort() };
      };
      const [first, later] = await Promise.all(servers.map((s) => Promise.all(files.map((f) => decide(s, f)))));
      expect(later).toEqual(first);
      expect(first!.filter((d) => d.codes.includes('schedule'))).toEqual([]);
      // The ones the tours submit as allowed stay allowed.
      expect(first!.filter((d) => d.status === 'denied').map((d) => d.file)).toEqual(['cli/denied.yaml', 'denied.json']);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  }, 60_000);
});

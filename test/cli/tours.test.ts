import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { CLI_JS, ensureCliBuilt } from './cli-process.js';

/**
 * The two tours, as scripts (docs/tour.sh with curl, shown in the README; docs/cli-tour.sh with the
 * CLI, shown in docs/cli.md), run one after the other against one server in both orders, as a new
 * user following them does.
 * Each keeps to its own keys, team and flags, so neither trips on what the other left behind.
 */
const run = (script: string, base: string) =>
  promisify(execFile)('bash', [path.join(ROOT, 'docs', script)], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      SWITCHYARD_URL: base,
      SWITCHYARD_TOKEN: ADMIN_TOKEN,
      SWITCHYARD_CLI: `${process.execPath} ${CLI_JS}`,
    },
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
  expect(out).toMatch(/"key": "checkout-redesign",\s*"version": 1\s*},\s*"status": "approved",\s*"state": "scheduled"/);
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

import fs from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModifiedBundle, withTierCap } from '../helpers/bundles.js';
import { ADMIN_TOKEN, apiFor, exampleIntent } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { errorEvents, flagOf, guardedIntent, placer, sendTelemetry } from '../helpers/rollout-telemetry.js';
import { DESKTOP, shotPath, signIn as signInOn, startConsole, textOf as textOn, type Client, type ConsoleRig } from './console-harness.js';

/**
 * The web console in real headless chromium against the real server: an owner reads a decision,
 * an sre approver approves it from the page, an operator pauses it, and the services page shows
 * the flags disabled with their versions moved on. Screenshots of the main pages go to
 * docs/screenshots/ when UPDATE_SCREENSHOTS=1 (else to a temp folder, so a test run leaves the
 * tree clean).
 */

let rig: ConsoleRig, s: ConsoleRig['s'];
let page: Page;
let owner: Client, sre: Client, operator: Client, governance: Client;

const example = () => {
  // The SPEC §2 example without its schedule: it goes live as soon as sre approves it.
  const intent = exampleIntent();
  delete intent['schedule'];
  return intent;
};

const readExample = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', name), 'utf8'));

/** Polls a locator's text on the page until it matches (this file allows 10 s). */
const textOf = (locator: Locator, pattern: RegExp, timeoutMs = 10_000) => textOn(page, locator, pattern, timeoutMs);

const signIn = (secret: string, name: string) => signInOn(page, secret, name, { timeoutMs: 10_000 });

async function openExperiment(key: string) {
  await page.getByRole('link', { name: 'Experiments', exact: true }).click();
  await page.locator('#experiments-table').getByRole('link', { name: key, exact: true }).click();
  try {
    await page.getByRole('heading', { level: 1, name: key }).waitFor();
    await page.locator('#audit-heading').waitFor();
  } catch (err) {
    throw new Error(`the page of ${key} did not load; it shows: ${await page.locator('main').innerText()}`, { cause: err });
  }
}

// Evaluated in the page (this file is type-checked without the DOM library).
const focusedId = () => page.evaluate<string | undefined>('document.activeElement?.id');
const storedToken = () => page.evaluate<string | null>("sessionStorage.getItem('switchyard.token')");

async function shot(name: string) {
  await page.screenshot({ path: shotPath(`${name}.png`), fullPage: true });
}

const rowOf = (table: Locator, text: string) => table.locator('tr', { has: page.locator('th', { hasText: text }) });

describe('web console in headless chromium', () => {
  beforeAll(async () => {
    rig = await startConsole();
    s = rig.s;
    [owner, sre, operator, governance] = await rig.tokens('alice', 'sam', 'olga', 'gina');
    expect((await owner.post('/v1/intents', example())).body).toMatchObject({ status: 'pending_approval', state: 'draft' });
    expect((await owner.post('/v1/intents', readExample('search-ranking.json'))).body).toMatchObject({ status: 'approved', state: 'running' });
    expect((await owner.post('/v1/intents', readExample('denied.json'))).body).toMatchObject({ status: 'denied' });

    // The page's clock (Date.now only; timers run) is fixed two hours after the server's ManualClock
    // start (past the hour the rollout test advances it), so the relative times here and in the
    // screenshots do not drift with the day the test runs.
    page = await rig.open(DESKTOP, { now: '2026-11-25T14:00:00Z', timeoutMs: 10_000 });
  }, 600_000);

  afterAll(() => rig?.close());

  it('refuses a bad token with the problem detail, then signs an owner in', async () => {
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.getByLabel('API token').fill('sy_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await textOf(page.locator('#sign-in-error'), /unknown or revoked/)).toContain('(unauthorized)');
    expect(await page.getByLabel('API token').getAttribute('aria-invalid')).toBe('true');

    await signIn(owner.secret, 'alice');
    expect(await page.locator('#whoami').textContent()).toBe('Signed in as alice · owner (team growth)');
    expect(await storedToken()).toBe(owner.secret);
  });

  it('lists experiments with their status and state', async () => {
    const table = page.locator('#experiments-table');
    await table.waitFor();
    expect(await rowOf(table, 'checkout-redesign').textContent()).toMatch(/growth\s*pending approval\s*draft\s*v1\s*4.5 %\s*web, checkout-api/);
    expect(await rowOf(table, 'search-ranking').textContent()).toMatch(/approved\s*running/);
    expect(await rowOf(table, 'Promo_Blast').textContent()).toMatch(/denied\s*draft/);
    await shot('experiments');

    // Pages of two: "Load more" shows the next two rows of the list read, then goes away.
    await page.goto(s.base + '/#/experiments?limit=2');
    // The whole list shown before also starts with these two rows: wait for the paged view, the
    // only one with "Load more" (it is rendered with its table), before counting rows.
    await page.getByRole('button', { name: 'Load more' }).waitFor({ state: 'visible' });
    await textOf(page.locator('#experiments-table tbody'), /^Promo_Blast.*checkout-redesign/);
    expect(await page.locator('#experiments-table tbody tr').count()).toBe(2);
    await page.getByRole('button', { name: 'Load more' }).click();
    await textOf(page.locator('#experiments-table tbody'), /search-ranking/);
    expect(await page.locator('#experiments-table tbody tr').count()).toBe(3);
    expect(await page.getByRole('button', { name: 'Load more' }).isVisible()).toBe(false);

    // The state filter keeps that state only.
    await page.getByLabel('State').selectOption('running');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/#\/experiments\?state=running$/);
    await textOf(page.locator('#experiments-table tbody'), /^search-ranking/);
    expect(await page.locator('#experiments-table tbody tr').count()).toBe(1);
  });

  it('explains the decision: allowed, one sre approval owed; the owner may not approve', async () => {
    await openExperiment('checkout-redesign');
    expect(await page.locator('#verdict').textContent()).toBe('Allowed, waiting for approval.');
    const approvals = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Outstanding' }) });
    expect(await rowOf(approvals, 'sre').textContent()).toMatch(/sre\s*1\s*nobody yet\s*1 still needed/);
    expect(await page.getByText('full, kept 400 days').count()).toBe(1);
    expect(await page.locator('#approve-button').count()).toBe(0);
    expect(await page.locator('#action-pause').count()).toBe(0);
    // Nothing is live yet: the owner of its team may only complete it, which for a draft is a withdrawal.
    expect(await page.getByRole('group', { name: 'Actions on checkout-redesign' }).getByRole('button').allTextContents()).toEqual(['Withdraw']);
    expect(await textOf(page.locator('#audit-timeline'), /submitted by alice/)).toMatch(/decided by alice \(v1\) — status pending approval/);

    // The dialog is modal, asks for a reason, and Escape leaves everything as it was.
    await page.locator('#action-complete').click();
    const dialog = page.getByRole('dialog', { name: 'Withdraw checkout-redesign' });
    await dialog.waitFor();
    expect(await focusedId()).toBe('action-reason');
    await dialog.getByRole('button', { name: 'Withdraw' }).click();
    expect(await textOf(dialog.getByRole('alert'), /required/)).toBe('Reason is required.');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedId()).toBe('action-complete');
    expect((await owner.get('/v1/intents/checkout-redesign')).body.state).toBe('draft');
  });

  it('lets an sre approver approve from the page, which puts it live', async () => {
    await signIn(sre.secret, 'sam');
    await openExperiment('checkout-redesign');
    await page.locator('#approve-button').click();
    const dialog = page.getByRole('dialog', { name: 'Approve checkout-redesign v1' });
    await dialog.getByLabel('Comment (optional)').fill('capacity ok');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    expect(await textOf(page.locator('#notice'), /Approved/)).toBe('Approved. checkout-redesign is now approved and running.');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.locator('.badges').textContent()).toMatch(/Status approved · State running/);
    expect(await page.locator('#approve-button').count()).toBe(0);
    const approvals = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Outstanding' }) });
    expect(await rowOf(approvals, 'sre').textContent()).toMatch(/sam \(.*\): “capacity ok”\s*done/);
    const timeline = await page.locator('#audit-timeline').textContent();
    expect(timeline).toMatch(/approved by sam \(v1\) — as sre · comment: “capacity ok”/);
    expect(timeline).toMatch(/started by sam \(v1\) — draft → running/);
    expect((await owner.get('/v1/intents/checkout-redesign')).body).toMatchObject({ status: 'approved', state: 'running', active_version: 1 });
    // Its flags, as the services serve them now.
    const flags = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'State now' }) });
    expect(await rowOf(flags, 'web').textContent()).toMatch(/checkout_redesign\s*ENABLED from v1/);
    expect(await rowOf(flags, 'checkout-api').textContent()).toMatch(/checkout_v2\s*ENABLED from v1.*treatment = "v2"/);
    await shot('experiment');
  });

  it('an approver who read v1 while the owner submitted v2 gets version_changed, not an approval of v2; the submitter under another spelling gets no Approve button', async () => {
    const v1 = {
      key: 'console-pin',
      owner: 'growth',
      services: [{ service: 'checkout-api', flag: 'console_pin' }],
      variants: [
        { key: 'control', weight: 50, value: false },
        { key: 'treatment', weight: 50, value: true },
      ],
      exposure: 1,
    };
    expect((await owner.post('/v1/intents', v1)).body.status).toBe('pending_approval');
    await signIn(sre.secret, 'sam');
    await openExperiment('console-pin');
    await page.locator('#approve-button').click();
    const dialog = page.getByRole('dialog', { name: 'Approve console-pin v1' });
    // While sam reads v1, alice submits v2: 5 % and an extra flag.
    const v2 = { ...v1, exposure: 5, services: [...v1.services, { service: 'web', flag: 'console_pin_extra' }] };
    expect((await owner.put('/v1/intents/console-pin', v2)).body).toMatchObject({ intent: { version: 2 }, status: 'pending_approval' });
    await dialog.getByLabel('Comment (optional)').fill('1 % is fine');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    expect(await textOf(dialog.getByRole('alert'), /changed/)).toBe(
      'console-pin changed while you were reading it: you were approving v1, and v2 is current now. Nothing was approved. Reload the page to read v2 before approving it. (version_changed)',
    );
    expect(await dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await owner.get('/v1/intents/console-pin')).body).toMatchObject({ version: 2, status: 'pending_approval', approvals: [] });

    // alice's approver token, named " Alice ", is the submitter by the server's rule: no Approve button.
    const aliceSre = await s.token({ name: ' Alice ', role: 'approver', approval_roles: ['sre'] });
    await signIn(aliceSre.secret, ' Alice ');
    await openExperiment('console-pin');
    expect(await page.locator('#approve-button').count()).toBe(0);
    expect(await page.getByText('You submitted version 2: your approval would not count.').count()).toBe(1);
    // Out of the way of the policy preview below, which counts live experiments.
    expect((await owner.post('/v1/intents/console-pin/actions', { action: 'complete', reason: 'test over' })).status).toBe(200);
  });

  it('lets an operator pause it; the services page shows the flags disabled at the next version', async () => {
    const before = {
      web: (await operator.get('/v1/services/web/flags')).body,
      api: (await operator.get('/v1/services/checkout-api/flags')).body,
    };
    expect(before.web.flags.checkout_redesign.state).toBe('ENABLED');

    await signIn(operator.secret, 'olga');
    await page.getByRole('link', { name: 'Services' }).click();
    const web = page.locator('#service-web');
    await textOf(web.locator('h2'), new RegExp(`^web version ${before.web.version}$`));
    expect(await web.locator('tr[data-flag="checkout_redesign"]').textContent()).toMatch(/^checkout_redesign\s*ENABLED\s*checkout-redesign v1/);

    await openExperiment('checkout-redesign');
    expect(await page.getByRole('group', { name: 'Actions on checkout-redesign' }).getByRole('button').allTextContents()).toEqual([
      'Pause',
      'Roll back',
      'Complete',
    ]);
    await page.getByRole('button', { name: 'Pause' }).click();
    const dialog = page.getByRole('dialog', { name: 'Pause checkout-redesign' });
    await dialog.getByLabel(/Reason/).fill('conversion dropped in EU');
    await dialog.getByRole('button', { name: 'Pause' }).click();
    expect(await textOf(page.locator('#notice'), /Paused/)).toBe('Paused. checkout-redesign is now paused.');
    expect(await page.getByRole('group', { name: 'Actions on checkout-redesign' }).getByRole('button').allTextContents()).toEqual([
      'Resume',
      'Roll back',
      'Complete',
    ]);
    expect(await focusedId()).toBe('actions-heading');
    expect(await page.locator('#audit-timeline li[data-type="paused"]').textContent()).toMatch(
      new RegExp(`paused by olga \\(v1\\) — running → paused · reason: “conversion dropped in EU” · flags checkout-api v${before.api.version + 1}, web v${before.web.version + 1}`),
    );

    await page.getByRole('link', { name: 'Services' }).click();
    await textOf(web.locator('h2'), new RegExp(`^web version ${before.web.version + 1}$`));
    expect(await web.locator('tr[data-flag="checkout_redesign"]').textContent()).toMatch(/^checkout_redesign\s*DISABLED\s*checkout-redesign v1/);
    // The other experiment on web is untouched.
    expect(await web.locator('tr[data-flag="ranking_banner"]').textContent()).toMatch(/ENABLED\s*search-ranking v1/);
    const api = page.locator('#service-checkout-api');
    expect(await api.locator('h2').textContent()).toBe(`checkout-api version ${before.api.version + 1}`);
    expect(await api.locator('tr[data-flag="checkout_v2"]').textContent()).toMatch(/DISABLED.*treatment = "v2".*4.5 % \(buckets 0–450 of 10000, seed layer\/checkout\)/);

    // The page says what the API serves.
    const after = (await operator.get('/v1/services/web/flags')).body;
    expect(after.version).toBe(before.web.version + 1);
    expect(after.flags.checkout_redesign.state).toBe('DISABLED');
    await shot('services');
  });

  it('shows the problem detail when an action fails', async () => {
    await openExperiment('search-ranking');
    await page.getByRole('button', { name: 'Pause' }).click();
    // Someone else pauses it first.
    expect((await operator.post('/v1/intents/search-ranking/actions', { action: 'pause', reason: 'incident 42' })).status).toBe(200);
    const dialog = page.getByRole('dialog', { name: 'Pause search-ranking' });
    await dialog.getByLabel(/Reason/).fill('me too');
    await dialog.getByRole('button', { name: 'Pause' }).click();
    expect(await textOf(dialog.getByRole('alert'), /Cannot/)).toBe('Cannot pause experiment search-ranking: it is paused (invalid_transition)');
    expect(await dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('previews the impact of a stricter bundle, then publishes it (governance)', async () => {
    const active = (await governance.get('/v1/policy')).body.revision as string;
    await signIn(governance.secret, 'gina');
    await page.getByRole('link', { name: 'Policy' }).click();
    expect(await textOf(page.locator('#policy-revision'), /^sha256:/)).toBe(active);

    // A critical tier capped at 4 %: the 4.5 % checkout experiment would be denied.
    const file = path.join(s.dir, 'strict-bundle.tar.gz');
    fs.writeFileSync(file, buildModifiedBundle(withTierCap('critical', 4), 'strict'));
    await page.getByLabel('Policy bundle').setInputFiles(file);
    await page.getByRole('button', { name: 'Preview impact' }).click();
    expect(await textOf(page.locator('#impact-summary'), /evaluated/)).toMatch(/2 live experiments evaluated, 1 changed, 1 would be denied\.$/);
    const row = page.locator('#impact tr[data-key="checkout-redesign"]');
    expect(await row.textContent()).toMatch(/checkout-redesign\s*v1\s*paused\s*approved → denied\s*yes\s*max_exposure exposure 4.5% is above the 4% cap/);
    expect(await page.locator('#impact tr[data-key="search-ranking"]').textContent()).toMatch(/approved → approved\s*no\s*none/);
    expect((await governance.get('/v1/policy')).body.revision).toBe(active);
    await shot('policy');

    await page.getByRole('button', { name: 'Publish this bundle' }).click();
    const dialog = page.getByRole('dialog', { name: 'Publish this bundle' });
    await dialog.getByRole('button', { name: 'Publish' }).click();
    // The notice is the signal that the publish answered; only then is the policy read.
    await textOf(page.locator('#notice'), /Published/);
    const published = (await governance.get('/v1/policy')).body;
    expect(published.revision).not.toBe(active);
    expect(published.manifest_revision).toBe('strict');
    expect(await page.locator('#policy-revision').textContent()).toBe(published.revision);
  });

  it('shows a guarded rollout: the stage ladder, a chart per guardrail with a line and a band per arm, and Advance advances', async () => {
    const key = 'rollout-demo';
    const intent = guardedIntent(
      key,
      { stages: [{ exposure: 20, hold: 'PT1H' }, { exposure: 50, hold: 'PT1H' }, { exposure: 100 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] },
      {
        variants: [
          { key: 'control', weight: 34, value: 'off' },
          { key: 'compact', weight: 33, value: 'compact' },
          { key: 'bold', weight: 33, value: 'bold' },
        ],
      },
    );
    expect((await owner.post('/v1/intents', intent)).body).toMatchObject({ status: 'approved', state: 'running' });
    const svc = await s.token({ name: 'recs', role: 'service', service: 'recommendations' });
    const flag = flagOf(key);
    const events = errorEvents({ units: 30_000, place: await placer(svc, 'recommendations', flag), flag, base: 0.05, ratio: 1, seed: 7 });
    // Telemetry through the real route in three parts, the guardrail loop ticking after each: three points.
    for (let i = 0; i < 3; i++) {
      await sendTelemetry(svc, 'recommendations', events.slice(Math.floor((i * events.length) / 3), Math.floor(((i + 1) * events.length) / 3)));
      s.clock.advance(20 * 60_000);
      await s.container.guardrails.tick();
    }
    const analysis = (await owner.get(`/v1/intents/${key}/analysis?history=true`)).body;
    expect(analysis.status).toBe('healthy');
    expect(analysis.history).toHaveLength(3);
    expect((await owner.get(`/v1/intents/${key}`)).body.rollout).toMatchObject({ stage: 0, status: 'ready' });

    await signIn(owner.secret, 'alice');
    await openExperiment(key);
    expect(await page.locator('#rollout-stage').textContent()).toBe('1 of 3, 20 % exposed');
    expect(await page.locator('#rollout-status').textContent()).toBe('ready');
    const ladder = page.locator('#rollout-ladder li');
    expect(await ladder.count()).toBe(3);
    expect(await page.locator('#rollout-ladder li[aria-current="step"]').textContent()).toBe('Stage 120 %hold PT1Hnow');
    const chart = page.locator('figure.chart[data-metric="error_rate"] svg');
    expect(await chart.locator('path.arm-line').count()).toBe(2);
    expect(await chart.locator('path.arm-line[data-arm="compact"]').count()).toBe(1);
    expect(await chart.locator('polygon.band').count()).toBe(2);
    // each line has one vertex per history point; the tolerance line is drawn and labelled
    expect((await chart.locator('path.arm-line[data-arm="bold"]').getAttribute('d'))!.match(/[ML]/g)).toHaveLength(3);
    expect(await chart.locator('text.tolerance').textContent()).toBe('tolerated +10.0 %');
    expect(await chart.locator('text.axis-label').allTextContents()).toEqual(['time (UTC)', 'change vs control']);
    await shot('rollout');

    await page.locator('#action-advance').click();
    const dialog = page.getByRole('dialog', { name: `Advance ${key} to stage 2` });
    await dialog.getByLabel(/Reason/).fill('stage 1 clean');
    await dialog.getByRole('button', { name: 'Advance' }).click();
    await textOf(page.locator('#notice'), /Advanced/);
    expect(await page.locator('#notice').textContent()).toBe(`Advanced. ${key} is at stage 2 of 3, 50 % exposed.`);
    expect(await textOf(page.locator('#rollout-stage'), /^2 of 3/)).toBe('2 of 3, 50 % exposed');
    expect((await owner.get(`/v1/intents/${key}`)).body.rollout).toMatchObject({ stage: 1, exposure: 50, status: 'holding' });
    // holding: no Advance button until the hold is over
    expect(await page.locator('#action-advance').count()).toBe(0);
  });

  it("offers only the actions the server lists and accepts: nothing on an archived draft, where a client-side rule offered Complete and, to admin, Approve", async () => {
    const key = 'console-archived';
    const intent = { ...example(), key, layer: undefined, services: [{ service: 'checkout-api', flag: 'console_archived' }], exposure: 1 };
    expect((await owner.post('/v1/intents', intent)).body).toMatchObject({ status: 'pending_approval', state: 'draft' });
    expect((await owner.del(`/v1/intents/${key}`)).body).toMatchObject({ state: 'archived', status: 'pending_approval' });
    const admin = Object.assign(apiFor(() => s.base, ADMIN_TOKEN), { secret: ADMIN_TOKEN });

    for (const [who, name, client] of [
      ['owner', 'alice', owner],
      ['admin', 'bootstrap-admin', admin],
    ] as const) {
      await signIn(client.secret, name);
      // Archived intents leave the list: the page is reached by its address.
      await page.goto(`${s.base}/#/experiments/${key}`);
      await page.getByRole('heading', { level: 1, name: key }).waitFor();
      await page.locator('#audit-heading').waitFor();
      const detail = (await client.get(`/v1/intents/${key}`)).body;
      expect(detail.allowed_actions, who).toEqual([]);
      expect(await page.getByRole('group', { name: `Actions on ${key}` }).count(), who).toBe(0);
      expect(await page.locator('#actions-heading + p').textContent(), who).toBe(
        `No action is open to ${name} (${who}) on this experiment while it is archived and pending approval.`,
      );
      // What the buttons would have done: the server refuses both.
      expect((await client.post(`/v1/intents/${key}/actions`, { action: 'complete', reason: 'x' })).body.code, who).toBe('invalid_transition');
      expect((await client.post(`/v1/intents/${key}/approvals`, {})).status, who).toBe(who === 'admin' ? 409 : 403);
    }

    // On the intents this file built, the buttons shown are the server's list for the caller, no more.
    const labels: Record<string, string> = { approve: 'Approve', pause: 'Pause', resume: 'Resume', rollback: 'Roll back', complete: 'Complete', advance: 'Advance' };
    for (const k of ['checkout-redesign', 'search-ranking', 'Promo_Blast', 'console-pin', 'rollout-demo']) {
      await page.goto(`${s.base}/#/experiments/${encodeURIComponent(k)}`);
      await page.getByRole('heading', { level: 1, name: k }).waitFor();
      await page.locator('#audit-heading').waitFor();
      const detail = (await admin.get(`/v1/intents/${encodeURIComponent(k)}`)).body;
      const allowed: string[] = detail.allowed_actions;
      const shown = await page.locator('main button[id^="action-"], main #approve-button').allTextContents();
      // Complete on a draft (nothing live) is offered as Withdraw.
      const label = (a: string) => (a === 'complete' && detail.state === 'draft' ? 'Withdraw' : labels[a]!);
      expect(shown.sort(), k).toEqual(allowed.filter((a) => a in labels).map(label).sort());
    }
  });

  it('hides the policy preview from roles that may not publish, and had no script errors', async () => {
    await signIn(sre.secret, 'sam');
    await page.getByRole('link', { name: 'Policy' }).click();
    await page.locator('#policy-revision').waitFor();
    expect(await page.getByLabel('Policy bundle').count()).toBe(0);
    expect(await page.getByText('Governance and admin tokens can preview and publish').count()).toBe(1);

    await page.locator('#sign-out').click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await storedToken()).toBeNull();
    expect(rig.pageErrors).toEqual([]);
  });
});

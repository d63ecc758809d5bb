import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent } from '../helpers/harness.js';
import { errorEvents, flagOf, guardedIntent, placer, sendTelemetry } from '../helpers/rollout-telemetry.js';
import { a11y, shotPath, signIn, startConsole, textOf, visit, type Client, type ConsoleRig } from './console-harness.js';

/**
 * Issue #18 item 4, the owner: authoring an intent in the console with the policy's dry run shown
 * inline as they type (violations and schema errors at their fields), submitting, resubmitting
 * after a denial, and the guarded rollout's ladder and guardrail charts from telemetry sent
 * through the real route. One browser, one server, two pages (desktop 1280×800, phone 390×844);
 * axe-core on every view at both sizes. Screenshots docs/screenshots/authoring.png and
 * rollout-ladder.png (written there when UPDATE_SCREENSHOTS=1, else to a temp folder).
 */

let rig: ConsoleRig, s: ConsoleRig['s'];
let desk: Page, phone: Page;
let owner: Client, sre: Client;
const evaluations: string[] = [];

/** The error slot an input is described by (its aria-describedby names it). */
async function describedErrors(input: Locator): Promise<string> {
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter((id) => id.startsWith('err-'));
  expect(ids.length, 'the input is described by an error slot').toBe(1);
  const slot = input.page().locator(`#${ids[0]}`);
  return (await slot.isVisible()) ? ((await slot.textContent()) ?? '') : '';
}

describe('web console: the owner writes an intent with an inline dry run, and reads a guarded rollout', () => {
  beforeAll(async () => {
    rig = await startConsole();
    s = rig.s;
    [owner, sre] = await rig.tokens('alice', 'sam');
    // The page's clock is fixed half an hour after the server's ManualClock start, so the relative
    // times here and in the screenshots do not drift with the day the test runs.
    [desk, phone] = await rig.openDeskAndPhone({
      now: '2026-11-25T12:30:00Z',
      onPage: (page) =>
        page.on('request', (r) => {
          if (r.method() === 'POST' && r.url().endsWith('/v1/intents:evaluate')) evaluations.push(r.postData() ?? '');
        }),
    });
  }, 600_000);

  afterAll(() => rig?.close());

  it('creates an intent: a violation appears at its field as the owner types, the fix clears it, the approvals owed show, and Submit stores it pending approval', async () => {
    await signIn(desk, owner.secret, 'alice');
    await visit(desk, '#/experiments', 'Experiments');
    await desk.getByRole('link', { name: 'New experiment' }).click();
    await desk.getByRole('heading', { level: 1, name: 'New experiment' }).waitFor();
    await a11y(desk, 'blank form, desktop');

    // Typing the key one key at a time: the dry run waits for a pause, so far fewer calls than keys.
    const before = evaluations.length;
    await desk.getByLabel('Key', { exact: true }).pressSequentially('author-demo', { delay: 15 });
    await desk.getByLabel('Description').fill('A checkout experiment written in the console');
    await desk.getByLabel('Service', { exact: true }).fill('checkout-api');
    await desk.getByLabel('Flag', { exact: true }).fill('author_demo');
    const exposure = desk.getByLabel('Exposure (% of units)');
    await exposure.fill('20');
    // checkout-api is critical: its cap is 5 %. The violation is at the exposure field.
    await textOf(desk, desk.locator('#err-exposure'), /max_exposure/);
    expect(await describedErrors(exposure)).toMatch(/^max_exposure: /);
    expect(await exposure.getAttribute('aria-invalid')).toBe('true');
    expect(await desk.locator('#dry-run-verdict').textContent()).toMatch(/Denied: 1 violation,/);
    expect(await desk.locator('#dry-run').getAttribute('aria-live')).toBe('polite');
    expect(await desk.locator('#top-errors').isVisible()).toBe(false);
    // Other fields carry no error.
    expect(await describedErrors(desk.getByLabel('Key', { exact: true }))).toBe('');
    const typed = evaluations.length - before;
    expect(typed).toBeGreaterThan(0);
    expect(typed).toBeLessThan('author-demo'.length);
    expect(await desk.locator('#dry-run-approvals').textContent()).toBe('Once allowed, it will need approval by sre (1).');
    await desk.evaluate("document.getElementById('err-exposure').scrollIntoView({ block: 'center' })");
    await desk.screenshot({ path: shotPath('authoring.png'), fullPage: false });
    await a11y(desk, 'form with a violation, desktop');

    // A schema error (a negative weight) goes next to its variant, from the problem's errors path.
    const weight = desk.locator('#f-variants-1-weight');
    await weight.fill('-1');
    await textOf(desk, desk.locator('#err-variants-1'), /weight/);
    expect(await weight.getAttribute('aria-invalid')).toBe('true');
    expect(await desk.locator('#dry-run-verdict').textContent()).toMatch(/Not a complete intent yet: 1 field needs attention/);
    await weight.fill('50');

    // The fix: 4 % is under the cap. The violation goes; the approval the critical service asks shows.
    await exposure.fill('4');
    await textOf(desk, desk.locator('#dry-run-verdict'), /Allowed by the policy/);
    expect(await desk.locator('#dry-run-approvals').textContent()).toBe('It will need approval by sre (1).');
    expect(await describedErrors(exposure)).toBe('');
    expect(await exposure.getAttribute('aria-invalid')).toBeNull();

    // The JSON tab holds the same intent; an override typed there (the form has no field for it) comes back to the form.
    await desk.getByRole('tab', { name: 'JSON' }).click();
    const json = desk.getByLabel('The intent as JSON');
    const shown = JSON.parse(await json.inputValue());
    expect(shown).toMatchObject({ key: 'author-demo', owner: 'growth', exposure: 4, services: [{ service: 'checkout-api', flag: 'author_demo' }] });
    shown.variants[1].overrides = { 'checkout-api': 'v2' };
    shown.description = 'Edited as JSON';
    await json.fill(JSON.stringify(shown, null, 2));
    await desk.getByRole('tab', { name: 'Form' }).click();
    expect(await desk.getByLabel('Description').inputValue()).toBe('Edited as JSON');
    expect(await desk.locator('[data-row="variants.1"]').textContent()).toMatch(/Overrides in checkout-api: edit them in the JSON tab/);
    await a11y(desk, 'form allowed, desktop');

    const submitted = desk.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/v1/intents'));
    await desk.getByRole('button', { name: 'Submit' }).click();
    expect(JSON.parse((await submitted).postData() ?? '{}')).toEqual(shown);
    await desk.getByRole('heading', { level: 1, name: 'author-demo' }).waitFor();
    expect(await textOf(desk, desk.locator('#notice'), /Submitted/)).toBe('Submitted author-demo v1: pending approval, draft.');
    await desk.locator('#audit-heading').waitFor();
    expect(await desk.locator('p.badges').textContent()).toMatch(/Status pending approval · State draft/);
    const stored = (await owner.get('/v1/intents/author-demo')).body;
    expect(stored).toMatchObject({ version: 1, status: 'pending_approval', intent: shown });
  });

  it('after a denial the owner stays on the form, fixes the field marked, and resubmits as the next version', async () => {
    await visit(desk, '#/new', 'New experiment');
    // The schedule's example dates come from the page's day (its clock, above), not a fixed date that expires (docs/dates.md).
    expect(await desk.getByLabel('Start (UTC, ISO 8601)').getAttribute('placeholder')).toBe('2026-11-26T00:00:00Z');
    expect(await desk.getByLabel('End (UTC, ISO 8601)').getAttribute('placeholder')).toBe('2026-12-26T00:00:00Z');
    await desk.getByLabel('Key', { exact: true }).fill('author-deny');
    await desk.getByLabel('Service', { exact: true }).fill('web');
    await desk.getByLabel('Flag', { exact: true }).fill('author_deny');
    await desk.getByLabel('Exposure (% of units)').fill('10');
    const classes = desk.getByLabel('Data classes it reads');
    // contact_info is restricted to team crm, and web may not touch it.
    await classes.fill('contact_info');
    await textOf(desk, desk.locator('#err-data_access'), /data_access/);
    await desk.getByRole('button', { name: 'Submit' }).click();
    expect(await textOf(desk, desk.locator('#submit-denied'), /denied/)).toBe('Submitted author-deny v1: denied by the policy. Change the fields marked and submit v2.');
    await desk.waitForURL(/#\/experiments\/author-deny\/edit$/);
    expect(await describedErrors(classes)).toMatch(/data_access/);
    expect(await desk.getByLabel('Key', { exact: true }).isDisabled()).toBe(true);
    expect((await owner.get('/v1/intents/author-deny')).body).toMatchObject({ version: 1, status: 'denied' });

    await classes.fill('clickstream');
    await textOf(desk, desk.locator('#dry-run-verdict'), /Allowed by the policy/);
    expect(await desk.locator('#dry-run-approvals').textContent()).toBe('It needs no approval.');
    // The new version is pinned to the version read (If-Match: v1's ETag, read before the submit).
    const v1Tag = (await owner.get('/v1/intents/author-deny')).headers.get('etag');
    expect(v1Tag).toBeTruthy();
    const put = desk.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith('/v1/intents/author-deny'));
    await desk.getByRole('button', { name: 'Submit v2' }).click();
    expect((await put).headers()['if-match']).toBe(v1Tag);
    expect(await textOf(desk, desk.locator('#notice'), /Submitted/)).toBe('Submitted author-deny v2: approved, running.');
    const after = (await owner.get('/v1/intents/author-deny')).body;
    expect(after).toMatchObject({ version: 2, status: 'approved', state: 'running', intent: { data_access: ['clickstream'] } });
    expect(after.versions.map((v: { status: string }) => v.status)).toEqual(['denied', 'approved']);
    expect((await owner.get('/v1/intents/author-deny')).headers.get('etag')).not.toBe(v1Tag);
  });

  it('Edit appears when the server says editable; an edit of a version replaced meanwhile stores nothing', async () => {
    // The approver may not edit: no Edit link; the owner may.
    await signIn(desk, sre.secret, 'sam');
    await visit(desk, '#/experiments/author-demo', 'author-demo');
    expect(await desk.locator('#edit-intent').count()).toBe(0);
    await signIn(desk, owner.secret, 'alice');
    await visit(desk, '#/experiments/author-demo', 'author-demo');
    await desk.getByRole('link', { name: 'Edit: submit v2' }).click();
    await desk.getByRole('heading', { level: 1, name: 'Edit author-demo: v2' }).waitFor();
    // A stored intent is judged at once.
    await textOf(desk, desk.locator('#dry-run-verdict'), /Allowed by the policy/);
    expect(await desk.getByLabel('Exposure (% of units)').inputValue()).toBe('4');
    await a11y(desk, 'edit form, desktop');

    // Someone else submits v2 meanwhile; this page still edits v1.
    expect((await owner.put('/v1/intents/author-demo', { ...(await owner.get('/v1/intents/author-demo')).body.intent, exposure: 3 })).status).toBe(200);
    await desk.getByLabel('Exposure (% of units)').fill('5');
    await desk.getByRole('button', { name: 'Submit v2' }).click();
    expect(await textOf(desk, desk.locator('#submit-error'), /newer version/)).toMatch(/^Someone submitted a newer version of author-demo while you were editing: nothing was stored\./);
    expect((await owner.get('/v1/intents/author-demo')).body).toMatchObject({ version: 2, intent: { exposure: 3 } });
  });

  it('a guarded rollout: the ladder says where it is and when the next advance is due; each guardrail chart has its table; a tripped one says what stopped it', async () => {
    const svc = await s.token({ name: 'recs', role: 'service', service: 'recommendations' });
    const key = 'ladder-demo';
    const flag = flagOf(key);
    const rollout = { stages: [{ exposure: 10, hold: 'PT1H' }, { exposure: 25, hold: 'PT2H' }, { exposure: 50 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }], auto_advance: true };
    expect((await owner.post('/v1/intents', guardedIntent(key, rollout))).body).toMatchObject({ status: 'approved', state: 'running' });
    const events = errorEvents({ units: 12_000, place: await placer(svc, 'recommendations', flag), flag, base: 0.05, ratio: 1, seed: 11 });
    // Telemetry through the real route in two parts, the guardrail loop ticking after each: two points.
    for (let i = 0; i < 2; i++) {
      await sendTelemetry(svc, 'recommendations', events.slice(Math.floor((i * events.length) / 2), Math.floor(((i + 1) * events.length) / 2)));
      s.clock.advance(10 * 60_000);
      await s.container.guardrails.tick();
    }
    const detail = (await owner.get(`/v1/intents/${key}`)).body;
    expect(detail.rollout).toMatchObject({ stage: 0, status: 'holding' });
    const history = (await owner.get(`/v1/intents/${key}/analysis?history=true`)).body.history;
    expect(history).toHaveLength(2);

    await signIn(desk, owner.secret, 'alice');
    await visit(desk, `#/experiments/${key}`, key);
    expect(await desk.locator('#rollout-ladder li').count()).toBe(3);
    expect(await desk.locator('#rollout-ladder li[aria-current="step"]').textContent()).toBe('Stage 110 %hold PT1Hnow');
    const until = new Date(detail.rollout.hold_until).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    expect(await desk.locator('#rollout-next').textContent()).toBe(`To stage 2 (25 %) from ${until}, when the hold of stage 1 is over; it advances by itself then if the analysis is healthy.`);
    // The chart, and the same points as a table (one row per point and arm).
    const chart = desk.locator('figure.chart[data-metric="error_rate"] svg');
    expect((await chart.locator('path.arm-line[data-arm="treatment"]').getAttribute('d'))!.match(/[ML]/g)).toHaveLength(2);
    expect(await chart.locator('text.tolerance').textContent()).toBe('tolerated +10.0 %');
    const table = desk.locator('details.chart-table[data-metric="error_rate"]');
    expect(await table.locator('summary').textContent()).toBe('The chart of error_rate as a table (2 points)');
    expect(await table.locator('tbody tr').count()).toBe(2);
    // Each point at its exact instant (its column says UTC; the points are ten minutes apart).
    const exact = (iso: string) => new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    expect(await table.locator('tbody tr td:first-child').allTextContents()).toEqual(history.map((p: { at: string }) => exact(p.at)));
    await table.locator('summary').click();
    const change = (x: number | null) => (x === null ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x * 100).toFixed(1)} %`);
    expect(await table.locator('tbody tr').last().locator('td.num').textContent()).toBe(change(history[1].guardrails[0].relative_change));
    await desk.locator('section[aria-labelledby="rollout-heading"]').screenshot({ path: shotPath('rollout-ladder.png') });
    await a11y(desk, 'rollout, desktop');
    await signIn(phone, owner.secret, 'alice');
    await visit(phone, `#/experiments/${key}`, key);
    await a11y(phone, 'rollout, phone');

    // A treatment that errs three times as often: the loop trips and halts it, and the page says why.
    const trip = 'ladder-trip';
    const tripFlag = flagOf(trip);
    expect((await owner.post('/v1/intents', guardedIntent(trip, { stages: [{ exposure: 50 }, { exposure: 100 }], guardrails: [{ metric: 'error_rate', max_regression: 0.1 }] }))).status).toBe(201);
    await sendTelemetry(svc, 'recommendations', errorEvents({ units: 8000, place: await placer(svc, 'recommendations', tripFlag), flag: tripFlag, base: 0.05, ratio: 3, seed: 5, prefix: 't' }));
    s.clock.advance(60_000);
    await s.container.guardrails.tick();
    expect((await owner.get(`/v1/intents/${trip}`)).body).toMatchObject({ state: 'paused', rollout: { status: 'halted' } });
    await visit(desk, `#/experiments/${trip}`, trip);
    expect(await desk.locator('#rollout-next').textContent()).toMatch(/^Halted: a guardrail tripped and the guardrail paused ladder-trip\. error_rate in treatment regressed \(\+\d+\.\d %, interval \[\+\d+\.\d %, \+\d+\.\d %\], tolerated \+10\.0 %\)\. Resume it to go on\.$/);
    await a11y(desk, 'halted rollout, desktop');
  });

  it('on a phone, the form and its inline violation pass axe, and the error is on screen', async () => {
    await signIn(phone, owner.secret, 'alice');
    await visit(phone, '#/new', 'New experiment');
    await a11y(phone, 'blank form, phone');
    await phone.getByLabel('Key', { exact: true }).fill('Bad_Key');
    await phone.getByLabel('Service', { exact: true }).fill('web');
    await phone.getByLabel('Flag', { exact: true }).fill('bad_key');
    await textOf(phone, phone.locator('#err-key'), /naming/);
    const box = await phone.locator('#err-key').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await a11y(phone, 'form with a violation, phone');
    await phone.getByRole('tab', { name: 'JSON' }).click();
    await a11y(phone, 'JSON tab, phone');
    expect(rig.pageErrors).toEqual([]);
  });
});

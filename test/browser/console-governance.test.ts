import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModifiedBundle } from '../helpers/bundles.js';
import { ADMIN_TOKEN, simpleIntent } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { a11y, shotPath, signIn as signInHere, SERVER_NOW, startConsole, textOf, visit, waitDrawn as waitShown, type Client, type ConsoleRig } from './console-harness.js';

/**
 * Issue #18, "What each role needs", item 2 (governance), in headless chromium against the real
 * server: the policy preview (would-deny first, changed, unchanged collapsed; what changes in the
 * rules' data), the revision history, the audit trail across experiments with its chain check, and
 * the decision page with its replay; as governance and as admin, and a non-governance token sees
 * no Publish. axe-core runs on each new view at 1280×800 and 390×844. The preview with a would-deny
 * row and a data diff is photographed to docs/screenshots/governance-preview.png when
 * UPDATE_SCREENSHOTS=1 (else to a temp folder).
 *
 * The browser's clock is fixed three hours after the server's (a ManualClock at 12:00 UTC that these
 * tests do not advance), so the times the console tells relatively read "3 hours ago", and those it
 * shows exactly (a decision's clock) read "2026-11-25 12:00:00 UTC".
 */

const ACTIVE_BUNDLE = path.join(ROOT, 'build/policy/bundle.tar.gz');
const BROWSER_NOW = '2026-11-25T15:00:00Z';

let rig: ConsoleRig, s: ConsoleRig['s'];
let desk: Page, phone: Page;
let owner: Client, sre: Client, governance: Client;
let candidate: string;

/** Signs in on a fresh load of the console's start page. */
const signIn = (page: Page, secret: string, name: string) => signInHere(page, secret, name, { reload: true });

/** Chooses a bundle in the Policy page's form and waits for its impact. */
async function preview(page: Page, file: string) {
  await page.getByLabel('Policy bundle').setInputFiles(file);
  await page.getByRole('button', { name: 'Preview impact' }).click();
  await page.getByRole('button', { name: 'Publish this bundle' }).waitFor();
}

const keysIn = (page: Page, group: string) => page.locator(`#${group} tbody tr`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));

describe('web console: the governance views (#18 item 2)', () => {
  beforeAll(async () => {
    rig = await startConsole();
    s = rig.s;
    [owner, sre, governance] = await rig.tokens('alice', 'sam', 'gina');

    // web (standard tier): 30 % and 10 %; checkout-api (critical): 4 %, approved by sam.
    expect((await owner.post('/v1/intents', simpleIntent('web-wide', { exposure: 30 }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents', simpleIntent('web-small', { exposure: 10 }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents', simpleIntent('crit-one', { exposure: 4, services: [{ service: 'checkout-api', flag: 'crit_one' }] }))).body.status).toBe('pending_approval');
    expect((await sre.post('/v1/intents/crit-one/approvals', { version: 1, comment: 'fine' })).body.state).toBe('running');
    for (let i = 0; i < 12; i++) expect((await owner.post('/v1/intents/web-small/actions', { action: i % 2 ? 'resume' : 'pause', reason: `drill ${i}` })).status).toBe(200);

    // The candidate: standard services capped at 20 % (web-wide would be denied) and full audit kept
    // 500 days (crit-one's obligations change; web-small's do not).
    candidate = path.join(s.dir, 'candidate.tar.gz');
    fs.writeFileSync(
      candidate,
      buildModifiedBundle((dir) => {
        const file = path.join(dir, 'data.json');
        const data = JSON.parse(fs.readFileSync(file, 'utf8'));
        data.switchyard.catalog.tier_caps.standard = 20;
        data.switchyard.catalog.obligations.audit.full.retention_days = 500;
        fs.writeFileSync(file, JSON.stringify(data, null, 2));
      }, 'cap-20'),
    );

    // Only the clock is fixed (Date.now); timers run as usual.
    [desk, phone] = await rig.openDeskAndPhone({ now: BROWSER_NOW });
  }, 600_000);

  afterAll(() => rig?.close());

  it('governance previews a bundle: would-deny rows first, then changed, unchanged collapsed under a count, and the rules’ data old → new', async () => {
    await signIn(desk, governance.secret, 'gina');
    await visit(desk, '#/policy', 'Policy');
    await preview(desk, candidate);
    expect(await desk.locator('#impact-summary').textContent()).toMatch(/3 live experiments evaluated, 2 changed, 1 would be denied\.$/);
    expect(await keysIn(desk, 'impact-deny')).toEqual(['web-wide']);
    expect(await desk.locator('#impact-deny h4').textContent()).toBe('Would be denied (1)');
    expect(await desk.locator('#impact-deny tr[data-key="web-wide"]').textContent()).toMatch(/web-wide\s*v1\s*running\s*approved → denied\s*yes\s*max_exposure/);
    expect(await keysIn(desk, 'impact-changed')).toEqual(['crit-one']);
    expect(await desk.locator('#impact-changed tr[data-key="crit-one"] td.verdicts').textContent()).toBe('approved → approved');
    // unchanged: collapsed, with a count
    expect(await desk.locator('#impact-unchanged > summary').textContent()).toBe('Unchanged (1)');
    expect(await desk.locator('#impact-unchanged').getAttribute('open')).toBeNull();
    expect(await desk.locator('#impact-unchanged tr[data-key="web-small"]').isVisible()).toBe(false);
    // in that order on the page
    const order = await desk.locator('#impact [data-key]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    expect(order).toEqual(['web-wide', 'crit-one', 'web-small']);
    // what changed in the rules' data
    const data = await desk.locator('#data-changes-table tbody tr').allTextContents();
    expect(data).toEqual([
      'switchyard › catalog › obligations › audit › full › retention_dayschanged400500',
      'switchyard › catalog › tier_caps › standardchanged5020',
    ]);
    await desk.locator('#impact-unchanged > summary').click();
    expect(await desk.locator('#impact-unchanged tr[data-key="web-small"]').isVisible()).toBe(true);
    await desk.locator('#impact-unchanged > summary').click();
    await a11y(desk, 'policy preview, desktop');
    await desk.screenshot({ path: shotPath('governance-preview.png'), fullPage: true });

    await signIn(phone, governance.secret, 'gina');
    await visit(phone, '#/policy', 'Policy');
    await preview(phone, candidate);
    expect(await keysIn(phone, 'impact-deny')).toEqual(['web-wide']);
    await a11y(phone, 'policy preview, phone');
  });

  it('the active bundle previewed again: nothing changes, the unchanged list is open, the data is the same', async () => {
    await visit(desk, '#/policy', 'Policy');
    await preview(desk, ACTIVE_BUNDLE);
    expect(await desk.locator('#impact-summary').textContent()).toMatch(/\(the active revision\): 3 live experiments evaluated, 0 changed, 0 would be denied\.$/);
    expect(await desk.locator('#impact-deny, #impact-changed').count()).toBe(0);
    expect(await desk.locator('#impact-unchanged > summary').textContent()).toBe('Unchanged (3)');
    expect(await desk.locator('#impact-unchanged').getAttribute('open')).toBe('');
    expect(await desk.locator('#data-changes').textContent()).toMatch(/The candidate’s data is the same as the active revision’s\./);
  });

  it('a non-governance token sees the policy and its history, and no Publish', async () => {
    await signIn(desk, owner.secret, 'alice');
    await visit(desk, '#/policy', 'Policy');
    await desk.locator('#history-table').waitFor();
    expect(await desk.locator('#bundle-file, #preview-button, #publish-button').count()).toBe(0);
    expect(await desk.locator('main').textContent()).toMatch(/Governance and admin tokens can preview and publish/);
    await a11y(desk, 'policy, owner');
  });

  it('admin publishes the candidate; the revision history lists both revisions, newest first, by whom and when, each linking to its audit event', async () => {
    const before = (await governance.get('/v1/policy')).body.revision as string;
    await signIn(desk, ADMIN_TOKEN, 'bootstrap-admin');
    await visit(desk, '#/policy', 'Policy');
    await preview(desk, candidate);
    await desk.getByRole('button', { name: 'Publish this bundle' }).click();
    await desk.getByRole('dialog', { name: 'Publish this bundle' }).getByRole('button', { name: 'Publish' }).click();
    await textOf(desk, desk.locator('#notice'), /Published/);
    const after = (await governance.get('/v1/policy')).body.revision as string;
    expect(after).not.toBe(before);

    await visit(desk, '#/policy', 'Policy');
    const rows = desk.locator('#history-table tbody tr');
    expect(await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-revision')))).toEqual([after, before]);
    expect(await rows.nth(0).textContent()).toMatch(/\(cap-20\)active3 hours ago\s*bootstrap-admin\s*sha256:[0-9a-f]{12}…\s*3 evaluated, 2 changed, 1 would be denied\s*event #\d+/);
    expect(await rows.nth(1).textContent()).toMatch(/3 hours ago\s*bootstrap\s*none\s*—\s*event #1/);
    const events = (await governance.get('/v1/audit?type=policy_activated')).body.events;
    // When: told relatively, the exact instant of each activation event in the <time>'s datetime and title.
    const when = await rows.evaluateAll((r) => r.map((x) => { const t = x.querySelector('time'); return [t?.getAttribute('datetime'), t?.getAttribute('title')]; }));
    expect(when).toEqual([events[1], events[0]].map((e: { at: string }) => [new Date(e.at).toISOString(), '2026-11-25 12:00:00 UTC']));
    const link = rows.nth(0).getByRole('link', { name: /^event #/ });
    expect(await link.textContent()).toBe(`event #${events[1].seq}`);
    await link.click();
    await waitShown(desk, 'Audit trail', 'the audit event link');
    const marked = desk.locator('#audit-table tr[aria-current="true"]');
    expect(await marked.getAttribute('data-seq')).toBe(String(events[1].seq));
    expect(await marked.textContent()).toMatch(/policy activated.*bootstrap-admin/);
    expect(await desk.locator('#audit-table tbody tr').first().getAttribute('data-seq')).toBe(String(events[1].seq));
    await a11y(desk, 'policy history, admin');
    await signIn(phone, ADMIN_TOKEN, 'bootstrap-admin');
    await visit(phone, '#/policy', 'Policy');
    await phone.locator('#history-table').waitFor();
    await a11y(phone, 'policy history, phone');
  });

  it('the audit trail across experiments: the chain verdict on top, filters by experiment, actor and type, and paging', async () => {
    await signIn(desk, governance.secret, 'gina');
    await visit(desk, '#/audit', 'Audit trail');
    const verify = (await governance.get('/v1/audit/verify')).body;
    expect(verify.ok).toBe(true);
    expect(await desk.locator('#chain-verdict').textContent()).toMatch(new RegExp(`^Chain intact: all ${verify.events} events verified`));
    // the verdict comes before the table
    expect(await desk.locator('main > *').evaluateAll((els) => els.findIndex((e) => e.id === 'chain-verdict'))).toBe(1);
    const experiments = new Set(await desk.locator('#audit-table td[data-label="Experiment"]').allTextContents());
    expect(experiments).toEqual(new Set(['—', 'web-wide v1', 'web-small v1', 'crit-one v1']));

    await desk.getByLabel('Experiment key').fill('crit-one');
    await desk.getByRole('button', { name: 'Filter' }).click();
    await desk.waitForURL(/#\/audit\?experiment=crit-one$/);
    await waitShown(desk, 'Audit trail', 'the experiment filter');
    expect(new Set(await desk.locator('#audit-table td[data-label="Experiment"]').allTextContents())).toEqual(new Set(['crit-one v1']));
    expect(await desk.locator('#audit-table tbody tr').evaluateAll((r) => r.map((x) => x.getAttribute('data-type')))).toEqual(['submitted', 'decided', 'approved', 'started']);

    await desk.getByLabel('Experiment key').fill('');
    await desk.getByLabel('Actor').fill('sam');
    await desk.getByLabel('Event type').selectOption('approved');
    await desk.getByRole('button', { name: 'Filter' }).click();
    await desk.waitForURL(/#\/audit\?actor=sam&type=approved$/);
    await waitShown(desk, 'Audit trail', 'the actor and type filter');
    const approved = desk.locator('#audit-table tbody tr');
    expect(await approved.count()).toBe(1);
    expect(await approved.textContent()).toMatch(/approved\s*crit-one v1\s*sam\s*as sre · comment: “fine”/);

    // paging: 25 a page, oldest first, the next page starts after the last one shown
    await visit(desk, '#/audit?limit=25', 'Audit trail');
    const first = (await desk.locator('#audit-table tbody tr').evaluateAll((r) => r.map((x) => Number(x.getAttribute('data-seq'))))) as number[];
    expect(first).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    await desk.locator('#audit-next').click();
    await desk.waitForURL(/cursor=25/);
    await waitShown(desk, 'Audit trail', 'the next page');
    const second = (await desk.locator('#audit-table tbody tr').evaluateAll((r) => r.map((x) => Number(x.getAttribute('data-seq'))))) as number[];
    expect(second[0]).toBe(26);
    expect(second.length).toBe(Math.min(25, verify.events - 25));
    expect(await desk.locator('#audit-first').isVisible()).toBe(true);
    await a11y(desk, 'audit, desktop');
    await signIn(phone, governance.secret, 'gina');
    await visit(phone, '#/audit', 'Audit trail');
    await a11y(phone, 'audit, phone');
  });

  it('a decision page shows its input and result, Replay says whether it matches; linked from the experiment page and from audit rows', async () => {
    const d = (await governance.get('/v1/intents/crit-one')).body.decision;
    await visit(desk, '#/experiments/crit-one', 'crit-one');
    await desk.locator('#decision-heading').waitFor();
    await desk.locator('section[aria-labelledby="decision-heading"]').getByRole('link', { name: d.id }).click();
    await waitShown(desk, `Decision ${d.id}`, 'the decision link');
    expect(desk.url()).toMatch(new RegExp(`#/decisions/${d.id}$`));
    expect(await desk.locator('#decision-verdict').textContent()).toBe('Allowed, asking for approval.');
    const input = await desk.locator('#decision-input').textContent();
    expect(input).toMatch(/Keycrit-one/);
    expect(input).toMatch(/Exposure4 %/);
    expect(input).toMatch(/Servicescheckout-api \/ crit_one/);
    expect(input).toMatch(/Submitted byalice \(owner, team growth\)/);
    // The clock the policy saw is shown exactly (an input of the decision); how long ago on hover.
    expect(input).toMatch(/Clock2026-11-25 12:00:00 UTC/);
    const clock = desk.locator('#decision-input time', { hasText: '2026-11-25 12:00:00 UTC' });
    expect(await clock.getAttribute('datetime')).toBe(new Date(SERVER_NOW).toISOString());
    expect(await clock.getAttribute('title')).toBe('3 hours ago');
    expect(await desk.locator('main').textContent()).toMatch(/Approvals asked1 × sre/);
    // decided under the revision before the candidate was published
    expect(await desk.locator('main').textContent()).toMatch(/not the active revision/);
    await desk.getByRole('button', { name: 'Replay' }).click();
    expect(await textOf(desk, desk.locator('#replay-verdict'), /^(Matches|Does not match)/)).toMatch(/^Matches: the policy gives the same decision again under revision sha256:[0-9a-f]{12}… \(the revision that made it; not the active one\)\.$/);
    await a11y(desk, 'decision, desktop');

    // from the audit trail: the decided event's decision link
    await signIn(desk, ADMIN_TOKEN, 'bootstrap-admin');
    await visit(desk, '#/audit?experiment=web-wide&type=decided', 'Audit trail');
    const wide = (await governance.get('/v1/intents/web-wide')).body.decision;
    await desk.locator('#audit-table').getByRole('link', { name: wide.id }).click();
    await waitShown(desk, `Decision ${wide.id}`, 'the audit row decision link');
    expect(await desk.locator('#decision-verdict').textContent()).toBe('Allowed.');
    await desk.getByRole('button', { name: 'Replay' }).click();
    expect(await textOf(desk, desk.locator('#replay-verdict'), /^(Matches|Does not match)/)).toMatch(/^Matches:/);
    await signIn(phone, governance.secret, 'gina');
    await visit(phone, `#/decisions/${d.id}`, `Decision ${d.id}`);
    await a11y(phone, 'decision, phone');
    await visit(phone, '#/decisions/d_nope', 'Not found');
  });

  it('a chain broken behind the API: the audit page says at which event', async () => {
    // sqlite: browser tests run on the SQLite file (vitest.config.ts)
    const db = s.container.db;
    const victim = db.prepare("SELECT seq FROM audit_events WHERE type = 'paused' ORDER BY seq LIMIT 1").pluck().get() as number;
    db.exec('DROP TRIGGER audit_events_no_update');
    db.prepare("UPDATE audit_events SET data = json_set(data, '$.reason', 'nothing to see') WHERE seq = ?").run(victim);
    await visit(desk, '#/audit', 'Audit trail');
    expect(await desk.locator('#chain-verdict').textContent()).toMatch(new RegExp(`^Chain broken at event #${victim} \\(ev_\\w+\\): hash does not match the event content\\. The ${victim - 1} events before it verify\\.`));
    expect(await desk.locator('#chain-verdict').getAttribute('role')).toBe('alert');
    await desk.locator('#chain-verdict').getByRole('link', { name: `Open event #${victim}` }).click();
    await waitShown(desk, 'Audit trail', 'the broken event link');
    expect(await desk.locator('#audit-table tr[aria-current="true"]').getAttribute('data-seq')).toBe(String(victim));
    await a11y(desk, 'audit, broken chain');
    expect(rig.pageErrors).toEqual([]);
  });
});

import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { a11y, growthIntent as intent, shotPath, signIn, startConsole, visit, waitDrawn as drawn, type Client, type ConsoleRig } from './console-harness.js';

/**
 * Issue #18, "Operator and owner" (item 3) and "Everyone" (item 5), in real headless chromium
 * against the real server (one browser, one server, seeded once): the experiments list's search,
 * filters, counts, sort and row actions; the layer picture and the variant split; relative times;
 * the 404 and error pages; the phone layout. Every view is checked with axe-core at 1280×800 and
 * 390×844. The layer picture is photographed for docs/console.md (docs/screenshots/layers.png when
 * UPDATE_SCREENSHOTS=1, else a temp folder).
 *
 * The browser's clock is fixed three hours after the server's (a ManualClock at 12:00 UTC), so the
 * relative times are known: "3 hours ago".
 */

const BROWSER_NOW = '2026-11-25T15:00:00Z';

let rig: ConsoleRig, s: ConsoleRig['s'];
let desk: Page, phone: Page;
let owner: Client, crm: Client, operator: Client;

const table = () => desk.locator('#experiments-table');
const keysShown = async (page: Page = desk) => (await page.locator('#experiments-table tbody th').allTextContents()).sort();
const counts = async () =>
  Object.fromEntries(
    await desk.locator('#state-counts li').evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-state'), Number(li.querySelector('.count')?.textContent)])),
  );
/** Waits for the list under a new address to be drawn (its "n of m shown" line says n). */
async function listShows(n: number, page: Page = desk) {
  await page.locator('#shown-count', { hasText: new RegExp(`^${n} of `) }).waitFor();
  await page.locator('main[aria-busy="false"]').waitFor();
}

/** The row's action buttons, once the row has read the intent's allowed_actions. */
async function rowButtons(page: Page, key: string): Promise<string[]> {
  const cell = page.locator(`#experiments-table tr[data-key="${key}"] td.row-actions`);
  await page.locator(`#experiments-table tr[data-key="${key}"] td.row-actions:not([aria-busy])`).waitFor({ state: 'attached' });
  return cell.getByRole('button').allTextContents();
}

const recs = (flag: string) => [{ service: 'recommendations', flag }];

describe('web console: #18 operator and owner (list, layers, times) and everyone (404, errors, phones)', () => {
  beforeAll(async () => {
    rig = await startConsole();
    s = rig.s;
    [owner, crm, operator] = await rig.tokens('alice', 'carl', 'olga');

    // Layer "search": ranking-a holds 0–3000, ranking-b 3000–5000, ranking-c 5000–6500; ranking-b
    // completes, which frees 3000–5000: two experiments, two free ranges.
    const layered = (key: string, exposure: number, extra: Record<string, unknown> = {}) => intent(key, { layer: 'search', exposure, services: recs(key.replace(/-/g, '_')), ...extra });
    expect((await owner.post('/v1/intents', layered('ranking-a', 30, { description: 'Ranking by recency' }))).body).toMatchObject({ status: 'approved', state: 'running' });
    expect((await owner.post('/v1/intents', layered('ranking-b', 20))).body.state).toBe('running');
    const three = [
      { key: 'control', weight: 70, value: 'a' },
      { key: 'fresh', weight: 20, value: 'f' },
      { key: 'bold', weight: 10, value: 'b' },
    ];
    expect((await owner.post('/v1/intents', layered('ranking-c', 15, { variants: three }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents/ranking-b/actions', { action: 'complete', reason: 'done' })).body.state).toBe('completed');
    // A layered version waiting for a privacy approval holds its slice too.
    expect((await owner.post('/v1/intents', intent('priv-recs', { layer: 'personal', exposure: 5, services: recs('priv_recs'), data_access: ['purchase_history'] }))).body.status).toBe('pending_approval');
    // Outside any layer: crm's banner, growth's hero copy, a denied draft.
    expect((await crm.post('/v1/intents', intent('promo-banner', { owner: 'crm', exposure: 10, services: [{ service: 'web', flag: 'promo_banner' }] }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents', intent('hero-copy', { exposure: 5, services: [{ service: 'web', flag: 'hero_copy' }] }))).body.state).toBe('running');
    expect((await owner.post('/v1/intents', intent('deny-big', { exposure: 80, services: [{ service: 'web', flag: 'deny_big' }] }))).body.status).toBe('denied');

    // Only the clock is fixed (Date.now); timers run as usual. The page that cannot reach the server
    // logs its failed load: not a page error.
    const ignore = /the server responded with a status of 4\d\d|Failed to load resource: net::ERR_CONNECTION_REFUSED/;
    [desk, phone] = await rig.openDeskAndPhone({ now: BROWSER_NOW, ignore });
    await signIn(desk, owner.secret, 'alice');
    await signIn(phone, owner.secret, 'alice');
  }, 600_000);

  afterAll(() => rig?.close());

  it('counts per state and "n of m shown" above the list; the search reads key, description, flag and service in any case', async () => {
    await visit(desk, '#/experiments', 'Experiments');
    await listShows(7);
    expect(await desk.locator('#shown-count').textContent()).toBe('7 of 7 shown');
    expect(await counts()).toEqual({ all: 7, draft: 2, running: 4, completed: 1 });
    await a11y(desk, 'list, desktop');

    // The search box, through the form: the URL says what was asked.
    await desk.getByLabel('Search', { exact: true }).fill('RANKING');
    await desk.getByRole('button', { name: 'Filter' }).click();
    await desk.waitForURL(/#\/experiments\?q=RANKING$/);
    await listShows(3);
    expect(await keysShown()).toEqual(['ranking-a', 'ranking-b', 'ranking-c']);
    expect(await desk.locator('#shown-count').textContent()).toBe('3 of 7 shown');
    // The counts are those of the search (under every filter but the state's).
    expect(await counts()).toEqual({ all: 3, running: 2, completed: 1 });

    for (const [q, keys] of [
      ['reCENCY', ['ranking-a']], // description
      ['PROMO_B', ['promo-banner']], // flag
      ['Recommend', ['priv-recs', 'ranking-a', 'ranking-b', 'ranking-c']], // service
      ['nothing-like-it', []],
    ] as const) {
      await visit(desk, `#/experiments?q=${encodeURIComponent(q)}`, 'Experiments');
      if (keys.length === 0) {
        expect(await desk.locator('#no-match').textContent()).toBe('No experiment matches these filters.');
        expect(await desk.locator('#shown-count').textContent()).toBe('0 of 7 shown');
      } else {
        await listShows(keys.length);
        expect(await keysShown(), q).toEqual(keys);
      }
    }
  });

  it('filters by status, state, service, flag and team (any case), shared through the URL; a state count filters; Back returns', async () => {
    await visit(desk, '#/experiments', 'Experiments');
    await desk.getByLabel('Service').fill('WEB');
    await desk.getByRole('button', { name: 'Filter' }).click();
    await desk.waitForURL(/#\/experiments\?service=WEB$/);
    await listShows(3);
    expect(await keysShown()).toEqual(['deny-big', 'hero-copy', 'promo-banner']);
    expect(await counts()).toEqual({ all: 3, draft: 1, running: 2 });

    // The "running" count is a link to the same filters and that state.
    await desk.locator('#state-counts li[data-state="running"] a').click();
    await desk.waitForURL(/#\/experiments\?service=WEB&state=running$/);
    await listShows(2);
    expect(await keysShown()).toEqual(['hero-copy', 'promo-banner']);
    expect(await desk.locator('#state-counts li[data-state="running"] a').getAttribute('aria-current')).toBe('true');
    // The counts stay those of the other filters, so the other states are one click away.
    expect(await counts()).toEqual({ all: 3, draft: 1, running: 2 });
    expect(await desk.locator('#shown-count').textContent()).toBe('2 of 7 shown');
    expect(await desk.getByLabel('State', { exact: true }).inputValue()).toBe('running');
    expect(await desk.getByLabel('Service').inputValue()).toBe('WEB');

    // Back: the previous view, its filters and rows.
    await desk.goBack();
    await desk.waitForURL(/#\/experiments\?service=WEB$/);
    await listShows(3);
    expect(await keysShown()).toEqual(['deny-big', 'hero-copy', 'promo-banner']);

    for (const [query, keys] of [
      ['status=denied', ['deny-big']],
      ['status=pending_approval', ['priv-recs']],
      ['state=completed', ['ranking-b']],
      ['flag=HERO', ['hero-copy']],
      ['flag=ranking', ['ranking-a', 'ranking-b', 'ranking-c']],
      ['owner=CR', ['promo-banner']],
      ['owner=grow&service=web&status=approved', ['hero-copy']],
    ] as const) {
      await visit(desk, `#/experiments?${query}`, 'Experiments');
      await listShows(keys.length);
      expect(await keysShown(), query).toEqual(keys);
    }
    await a11y(desk, 'filtered list, desktop');
    await desk.getByRole('link', { name: 'Clear filters' }).click();
    await desk.waitForURL(/#\/experiments$/);
    await listShows(7);
  });

  it('the sort is in the URL: a shared or reloaded list keeps its order and aria-sort', async () => {
    await visit(desk, '#/experiments', 'Experiments');
    await listShows(7);
    const header = table().locator('th', { has: desk.getByRole('button', { name: 'Exposure' }) });
    await desk.getByRole('button', { name: 'Exposure' }).click();
    await desk.getByRole('button', { name: 'Exposure' }).click();
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    await desk.waitForURL(/#\/experiments\?sort=-exposure$/);
    const order = await table().locator('tbody th').allTextContents();
    expect(order.slice(0, 2)).toEqual(['deny-big', 'ranking-a']);
    await desk.reload();
    await listShows(7);
    expect(await table().locator('th', { has: desk.getByRole('button', { name: 'Exposure' }) }).getAttribute('aria-sort')).toBe('descending');
    expect(await table().locator('tbody th').allTextContents()).toEqual(order);
  });

  it('pause and resume from the row, exactly when the row’s allowed_actions list them, with the reason dialog; the row updates', async () => {
    // carl (crm) may pause crm's banner, not growth's hero copy: the row shows what the server lists.
    await signIn(desk, crm.secret, 'carl');
    await visit(desk, '#/experiments?state=running', 'Experiments');
    await listShows(4);
    for (const key of await keysShown()) {
      const allowed: string[] = (await crm.get(`/v1/intents/${key}`)).body.allowed_actions;
      const expected = [['pause', 'Pause'], ['resume', 'Resume']].filter(([a]) => allowed.includes(a!)).map(([, label]) => label);
      expect(await rowButtons(desk, key), key).toEqual(expected);
    }
    expect(await rowButtons(desk, 'promo-banner')).toEqual(['Pause']);
    expect(await rowButtons(desk, 'hero-copy')).toEqual([]);

    // The operator pauses hero-copy from its row.
    await signIn(desk, operator.secret, 'olga');
    await visit(desk, '#/experiments?flag=hero', 'Experiments');
    await listShows(1);
    expect(await rowButtons(desk, 'hero-copy')).toEqual(['Pause']);
    await table().getByRole('button', { name: 'Pause hero-copy' }).click();
    const dialog = desk.getByRole('dialog', { name: 'Pause hero-copy' });
    expect(await dialog.locator('#action-dialog-help').textContent()).toBe(
      'Pausing disables its flags in every service: everyone gets the default variant. Resume turns them back on.',
    );
    await dialog.getByRole('button', { name: 'Pause' }).click();
    expect(await dialog.locator('#action-error').textContent()).toBe('Reason is required.');
    expect((await operator.get('/v1/intents/hero-copy')).body.state).toBe('running');
    await dialog.getByLabel(/Reason/).fill('error spike on web');
    await dialog.getByRole('button', { name: 'Pause' }).click();
    await desk.locator('#notice', { hasText: 'Paused. hero-copy is now paused.' }).waitFor();
    const row = table().locator('tr[data-key="hero-copy"]');
    await row.locator('td[data-label="State"] .badge', { hasText: 'paused' }).waitFor();
    expect(await rowButtons(desk, 'hero-copy')).toEqual(['Resume']);
    expect(desk.url()).toMatch(/#\/experiments\?flag=hero$/);
    expect(await desk.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('hero-copy');
    expect((await operator.get('/v1/intents/hero-copy')).body.state).toBe('paused');
    await a11y(desk, 'list with row actions, desktop');

    await table().getByRole('button', { name: 'Resume hero-copy' }).click();
    const again = desk.getByRole('dialog', { name: 'Resume hero-copy' });
    await again.getByLabel(/Reason/).fill('fixed');
    await again.getByRole('button', { name: 'Resume' }).click();
    await desk.locator('#notice', { hasText: 'Resumed. hero-copy is now running.' }).waitFor();
    expect(await rowButtons(desk, 'hero-copy')).toEqual(['Pause']);
    expect((await operator.get('/v1/intents/hero-copy')).body.state).toBe('running');
  });

  it('the layer picture: each slice labelled and linked, the free room with its size, and the same numbers as a table', async () => {
    await signIn(desk, owner.secret, 'alice');
    await visit(desk, '#/layers', 'Layers');
    const layer = desk.locator('section[data-layer="search"]');
    expect(await layer.locator('.layer-summary').textContent()).toBe('2 experiments hold 45 %; 55 % is free in 2 ranges, the largest 35 %.');
    const bar = layer.getByRole('list', { name: 'Layer search, buckets 0 to 10000' });
    // Each part in bucket order: a slice is a link named with its numbers; free room says its size.
    expect(await bar.locator(':scope > li').evaluateAll((lis) => lis.map((li) => `${li.className}:${li.textContent}`))).toEqual([
      'slice:ranking-a v1: buckets 0 to 3000, 30 %',
      'free:free 20 %: buckets 3000 to 5000',
      'slice:ranking-c v1: buckets 5000 to 6500, 15 %',
      'free:free 35 %: buckets 6500 to 10000',
    ]);
    expect(await bar.getByRole('link').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['#/experiments/ranking-a', '#/experiments/ranking-c']);
    // On screen, each slice shows its key, version and share.
    expect(await bar.locator('li.slice a > span:not(.visually-hidden)').allInnerTexts()).toEqual(['ranking-a v1', '30 %', 'ranking-c v1', '15 %']);
    // Drawn to scale: a part's width is its share of the bar.
    const width = async (l: Locator) => (await l.boundingBox())!.width;
    const whole = await width(bar);
    expect((await width(bar.locator('li.slice[data-key="ranking-a"]'))) / whole).toBeCloseTo(0.3, 2);
    expect((await width(bar.locator('li.free').last())) / whole).toBeCloseTo(0.35, 2);
    const rows = layer.locator('table tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 5).map((c) => c.textContent).join(' | ')))).toEqual([
      'ranking-a | v1 (live) | running | 0–3000 | 30 %',
      'free | — | — | 3000–5000 | 20 %',
      'ranking-c | v1 (live) | running | 5000–6500 | 15 %',
      'free | — | — | 6500–10000 | 35 %',
    ]);
    // A version waiting for approval holds its slice, drawn apart.
    const personal = desk.locator('section[data-layer="personal"]');
    expect(await personal.getByRole('list', { name: 'Layer personal, slices of versions waiting for approval' }).getByRole('link').textContent()).toBe(
      'priv-recs v1: buckets 0 to 500, 5 %, waiting for approval',
    );
    expect(await personal.locator('.layer-summary').textContent()).toBe('1 experiments hold 5 %; 95 % is free.');
    await layer.screenshot({ path: shotPath('layers.png') });
    await a11y(desk, 'layers, desktop');

    await bar.getByRole('link', { name: /^ranking-c v1/ }).click();
    await drawn(desk, 'ranking-c', 'the slice link');

    // An operator reads the same picture.
    await signIn(desk, operator.secret, 'olga');
    await visit(desk, '#/layers', 'Layers');
    expect(await desk.locator('section[data-layer="search"] .layer-summary').textContent()).toBe('2 experiments hold 45 %; 55 % is free in 2 ranges, the largest 35 %.');
    await signIn(desk, owner.secret, 'alice');
  });

  it('each experiment’s variant split as a bar: its weights, the control marked, in words for screen readers', async () => {
    await visit(desk, '#/experiments/ranking-c', 'ranking-c');
    const split = desk.locator('#summary-split');
    expect(await split.getAttribute('aria-label')).toBe('Variant split: control 70 %, fresh 20 %, bold 10 %');
    expect(await split.locator('li').allTextContents()).toEqual(['control 70 %', 'fresh 20 %', 'bold 10 %']);
    expect(await split.locator('li.control').count()).toBe(1);
    expect(await split.locator('li').first().getAttribute('class')).toBe('split-part control');
    const w = async (i: number) => (await split.locator('li').nth(i).boundingBox())!.width;
    expect((await w(0)) / (await w(2))).toBeCloseTo(7, 0);
    // The layer table carries each slice's split too.
    await visit(desk, '#/layers', 'Layers');
    expect(await desk.locator('section[data-layer="search"] tr[data-key="ranking-a"] .split-bar').getAttribute('aria-label')).toBe('Variant split: control 50 %, treatment 50 %');
  });

  it('relative times everywhere, the exact instant on hover', async () => {
    await visit(desk, '#/experiments', 'Experiments');
    await listShows(7);
    const updated = table().locator('tr[data-key="ranking-a"] td[data-label="Updated"] time');
    expect(await updated.textContent()).toBe('3 hours ago');
    expect(await updated.getAttribute('title')).toBe('2026-11-25 12:00:00 UTC');
    expect(await updated.getAttribute('datetime')).toBe('2026-11-25T12:00:00.000Z');
    await visit(desk, '#/experiments/ranking-a', 'ranking-a');
    // Every time on the experiment page (versions, audit timeline) reads the same way.
    const times = await desk.locator('main time').evaluateAll((ts) => ts.map((t) => [t.textContent, t.getAttribute('title')]));
    expect(times.length).toBeGreaterThan(2);
    for (const [text, title] of times) {
      expect(text).toBe('3 hours ago');
      expect(title).toBe('2026-11-25 12:00:00 UTC');
    }
  });

  it('an unknown page gets Not found with a way back, as an unknown key does; the skip link keeps the page', async () => {
    await visit(desk, '#/no-such-page', 'Not found');
    expect(await desk.locator('#not-found').textContent()).toBe('The console has no page at #/no-such-page (page_not_found)');
    await a11y(desk, 'unknown page, desktop');
    await desk.getByRole('link', { name: 'Back to experiments' }).click();
    await drawn(desk, 'Experiments', 'the way back');
    await visit(desk, '#/experiments/ranking-a/extra', 'Not found');
    await visit(desk, '#/layers', 'Layers');
    await desk.locator('a.skip-link').focus();
    await desk.keyboard.press('Enter');
    expect(desk.url()).toMatch(/#\/layers$/);
    expect(await desk.evaluate<string | undefined>('document.activeElement?.id')).toBe('main');
    await visit(phone, '#/nowhere', 'Not found');
    await a11y(phone, 'unknown page, phone');
  });

  it('on a phone: a list row is a card with key, status, state and exposure on screen; the layer bar fits; axe on each view', async () => {
    await visit(phone, '#/experiments', 'Experiments');
    await listShows(7, phone);
    const row = phone.locator('#experiments-table tr[data-key="hero-copy"]');
    for (const cell of ['th', 'td[data-label="Status"] .badge', 'td[data-label="State"] .badge', 'td[data-label="Exposure"]']) {
      const box = (await row.locator(cell).first().boundingBox())!;
      expect(box, cell).not.toBeNull();
      expect(box.x, cell).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, cell).toBeLessThanOrEqual(390);
    }
    // The row is a card: its cells stack (the key above the status), not one line wider than the screen.
    const keyBox = (await row.locator('th').boundingBox())!;
    const statusBox = (await row.locator('td[data-label="Status"]').boundingBox())!;
    expect(statusBox.y).toBeGreaterThanOrEqual(keyBox.y + keyBox.height - 1);
    expect(await row.locator('td[data-label="Actions"]').isVisible()).toBe(true);
    await a11y(phone, 'list, phone');

    await visit(phone, '#/experiments?q=ranking&sort=-exposure', 'Experiments');
    await listShows(3, phone);
    await a11y(phone, 'filtered list, phone');

    await visit(phone, '#/layers', 'Layers');
    const bar = phone.getByRole('list', { name: 'Layer search, buckets 0 to 10000' });
    const box = (await bar.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await a11y(phone, 'layers, phone');
    await visit(phone, '#/experiments/ranking-c', 'ranking-c');
    await a11y(phone, 'experiment with split, phone');
  });

  it('a failure gets "Something went wrong" with Try again (which reads again) and a way back', async () => {
    await visit(desk, '#/experiments', 'Experiments');
    await listShows(7);
    // The server goes away (it comes back on another port): the next page cannot be read.
    await s.restart();
    await desk.getByRole('link', { name: 'Layers' }).click();
    await drawn(desk, 'Something went wrong', 'a page the server could not answer');
    expect(await desk.locator('main .error').textContent()).toMatch(/^The server could not be reached/);
    expect(await desk.getByRole('button', { name: 'Try again' }).isEnabled()).toBe(true);
    expect(await desk.getByRole('link', { name: 'Back to experiments' }).getAttribute('href')).toBe('#/');
    await a11y(desk, 'error page, desktop');
    // Try again reads again: the loading state, then the same answer.
    await desk.getByRole('button', { name: 'Try again' }).click();
    await drawn(desk, 'Something went wrong', 'try again');
    expect(rig.pageErrors).toEqual([]);
  });
});

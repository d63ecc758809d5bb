import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axe from 'axe-core';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { startServer, type Api, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { launchChromium, type LaunchedBrowser } from './chromium.js';

/**
 * What every browser test of the console shares: one headless chromium and one real server
 * (startConsole), pages opened at a fixed browser clock that collect the page's errors (open),
 * and the helpers the tests drive a page with (textOf, signIn, visit, waitDrawn, a11y). Screenshots
 * go to docs/screenshots/ when UPDATE_SCREENSHOTS=1, else to a temp folder, so a run leaves the
 * tree clean.
 */

export const SHOTS = process.env['UPDATE_SCREENSHOTS'] === '1' ? path.join(ROOT, 'docs/screenshots') : fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-shots-'));

/** A screenshot's path in SHOTS. */
export const shotPath = (name: string) => path.join(SHOTS, name);

export type Client = Api & { secret: string };

/** The server's ManualClock starts here (test/helpers/harness.ts); the tests fix the browser's clock relative to it. */
export const SERVER_NOW = '2026-11-25T12:00:00Z';

/** The cast of the console tests: who each token is (a token is minted per name, in the order asked). */
export const PEOPLE = {
  alice: { name: 'alice', role: 'owner', team: 'growth' },
  carl: { name: 'carl', role: 'owner', team: 'crm' },
  sam: { name: 'sam', role: 'approver', approval_roles: ['sre'] },
  olga: { name: 'olga', role: 'operator' },
  gina: { name: 'gina', role: 'governance' },
  'web-svc': { name: 'web-svc', role: 'service', service: 'web' },
} as const;

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** 4xx answers the tests provoke on purpose are logged by chromium as failed loads: not page errors. */
const EXPECTED_CONSOLE_ERRORS = /the server responded with a status of 4\d\d/;

export interface OpenOptions {
  /** The page's clock (Date.now only; timers run as usual) is fixed at this instant. */
  now: string;
  /** The page's default timeout for waits and actions. */
  timeoutMs?: number;
  /** Console errors that are not page errors (default: the 4xx answers the tests provoke). */
  ignore?: RegExp;
  /** Called with the new page before it first loads the console (to listen for its requests). */
  onPage?: (page: Page) => void;
}

export interface ConsoleRig {
  s: TestServer;
  chrome: LaunchedBrowser;
  /** The uncaught errors and console errors of every page opened through open(). */
  pageErrors: string[];
  /** A page in a fresh context of the given size, signed out, showing the console's start. */
  open(viewport: { width: number; height: number }, options: OpenOptions): Promise<Page>;
  /** A token for each of the people named, minted in that order. */
  tokens<const N extends readonly (keyof typeof PEOPLE)[]>(...names: N): Promise<{ [K in keyof N]: Client }>;
  /** A desktop page (1280×800), then a phone page (390×844), both opened with the same options. */
  openDeskAndPhone(options: OpenOptions): Promise<[Page, Page]>;
  close(): Promise<void>;
}

/** The server base address each page was opened against (visit and signIn load pages from it). */
const baseOf = new WeakMap<Page, string>();

function baseFor(page: Page): string {
  const base = baseOf.get(page);
  if (base === undefined) throw new Error('this page was not opened through the console harness (ConsoleRig.open)');
  return base;
}

/** Headless chromium, then the real server on a temp SQLite file (test/helpers/harness.ts), its clock at SERVER_NOW. */
export async function startConsole(): Promise<ConsoleRig> {
  const chrome = await launchChromium();
  let s: TestServer;
  try {
    s = await startServer();
  } catch (err) {
    await chrome.close();
    throw err;
  }
  // The browser clocks the tests fix are told relative to this start.
  expect(s.clock.now().toISOString()).toBe(new Date(SERVER_NOW).toISOString());
  const pageErrors: string[] = [];
  const open: ConsoleRig['open'] = async (viewport, { now, timeoutMs = 8_000, ignore = EXPECTED_CONSOLE_ERRORS, onPage }) => {
    const context = await chrome.browser.newContext({ viewport, reducedMotion: 'reduce' });
    await context.clock.setFixedTime(new Date(now));
    const page = await context.newPage();
    page.setDefaultTimeout(timeoutMs);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !ignore.test(m.text())) pageErrors.push(m.text());
    });
    onPage?.(page);
    baseOf.set(page, s.base);
    await page.goto(s.base + '/');
    return page;
  };
  return {
    s,
    chrome,
    pageErrors,
    open,
    async tokens<const N extends readonly (keyof typeof PEOPLE)[]>(...names: N) {
      const clients: Client[] = [];
      for (const name of names) {
        const { approval_roles, ...rest } = PEOPLE[name] as (typeof PEOPLE)[keyof typeof PEOPLE] & { approval_roles?: readonly string[] };
        clients.push(await s.token({ ...rest, ...(approval_roles ? { approval_roles: [...approval_roles] } : {}) }));
      }
      return clients as { [K in keyof N]: Client };
    },
    async openDeskAndPhone(options) {
      const desk = await open(DESKTOP, options);
      return [desk, await open(PHONE, options)];
    },
    async close() {
      await chrome.close();
      await s.close();
    },
  };
}

/** Polls a locator's text until it matches: the page fills itself in from the API. */
export async function textOf(page: Page, locator: Locator, pattern: RegExp, timeoutMs = 8_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = ((await locator.count()) > 0 ? await locator.first().textContent() : '') ?? '';
    if (pattern.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`expected ${pattern} in ${locator}, last saw: ${JSON.stringify(last)}; the page shows: ${await page.locator('main').innerText()}`);
    await page.waitForTimeout(50);
  }
}

/**
 * Signs in with a token through the sign-in form (signing out first if someone is signed in) and
 * waits for "Signed in as {name}". With reload, the console's start page is loaded afresh first.
 */
export async function signIn(page: Page, secret: string, name: string, { reload = false, timeoutMs = 8_000 } = {}) {
  if (reload) {
    await page.goto('about:blank');
    await page.goto(`${baseFor(page)}/`);
  }
  // Either state, once the page shows one: isVisible() alone reads the instant, and a header being
  // redrawn then reads as "nobody signed in" while no sign-in form is coming.
  const signOut = page.locator('#sign-out');
  const token = page.getByLabel('API token');
  await signOut.or(token).filter({ visible: true }).first().waitFor({ timeout: timeoutMs });
  if (await signOut.isVisible()) await signOut.click();
  await token.fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await textOf(page, page.locator('#whoami'), new RegExp(`Signed in as ${name} `), timeoutMs);
}

/**
 * Waits until a view is drawn: its heading, (with audit) an experiment's audit timeline, and the
 * end of loading; else fails with what the page shows.
 */
export async function waitDrawn(page: Page, h1: string | RegExp, what: string, { audit = false } = {}) {
  try {
    await page.getByRole('heading', { level: 1, name: h1 }).waitFor();
    if (audit) await page.locator('#audit-heading').waitFor();
    await page.locator('main[aria-busy="false"]').waitFor();
  } catch (err) {
    throw new Error(`${what} did not show ${h1}; it shows: ${await page.locator('main').innerText()}`, { cause: err });
  }
}

/**
 * Opens a page by its address (a fresh load, so nothing of the previous view is mistaken for it;
 * the token stays in the tab's sessionStorage) and waits until it is drawn: its heading, on an
 * experiment's page its last section (the audit timeline; not on its edit form
 * #/experiments/{key}/edit, nor on a Not found), and the end of loading.
 */
export async function visit(page: Page, hash: string, h1: string | RegExp) {
  await page.goto('about:blank');
  await page.goto(`${baseFor(page)}/${hash}`);
  const audit = /^#\/experiments\/[^/?]+$/.test(hash) && !/Not found/.test(String(h1));
  await waitDrawn(page, h1, hash, { audit });
}

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core on the page as it is (injected through the devtools protocol, which the page's CSP
 * does not govern): no serious or critical violation, and every scrolling table wrapper
 * reachable by the keyboard and named.
 */
export async function a11y(page: Page, label: string) {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.evaluate(axe.source);
  const violations = await page.evaluate<Violation[]>(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`,
  );
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `${label}: ${JSON.stringify(bad, null, 1)}`).toEqual([]);
  const wraps = await page.evaluate<{ tabindex: string | null; name: string | null }[]>(
    `[...document.querySelectorAll('main .table-wrap')].map((w) => ({ tabindex: w.getAttribute('tabindex'), name: w.getAttribute('aria-label') }))`,
  );
  for (const w of wraps) {
    expect(w.tabindex, `${label}: a table's scroll container is not keyboard-reachable`).toBe('0');
    expect(w.name ?? '', `${label}: a table's scroll container has no name`).not.toBe('');
  }
}

/** A two-arm intent of team growth, 50/50 control "a" and treatment "b", with extra fields on top. */
export const growthIntent = (key: string, extra: Record<string, unknown>) => ({
  key,
  owner: 'growth',
  variants: [
    { key: 'control', weight: 50, value: 'a' },
    { key: 'treatment', weight: 50, value: 'b' },
  ],
  ...extra,
});

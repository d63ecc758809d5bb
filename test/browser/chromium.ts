import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../helpers/paths.js';

/** Debian's chromium, driven by playwright-core: no browser download, one system package. */
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Makes sure chromium is there, running scripts/install-chromium.sh once if it is not (make test
 * runs it first anyway). A machine where it cannot be installed fails here, loudly: the browser
 * tests never skip.
 */
export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  const script = path.join(ROOT, 'scripts/install-chromium.sh');
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need ${CHROMIUM} (Debian package chromium) and ${script} could not install it ` +
        `(exit ${r.status ?? r.signal}):\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
    );
  }
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Headless chromium. playwright-core gives every launch a fresh user-data-dir of its own in the
 * temp folder (it refuses a --user-data-dir argument) and removes it on close.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  ensureChromium();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  return {
    browser,
    close: () => browser.close(),
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { declare, route } from '../http/route.js';

/** Where the console's page lives; its scripts and styles are served under this path. */
export const CONSOLE_ASSETS = '/console';

/**
 * The folder of index.html, app.js and style.css. tsc does not copy them to dist/, so from
 * dist/src/console the sources' folder is used: the same files whether run by vitest or `make run`.
 */
export function consoleStaticDir(moduleDir = path.dirname(fileURLToPath(import.meta.url))): string {
  const candidates = [path.join(moduleDir, 'static'), path.resolve(moduleDir, '../../../src/console/static')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`The web console's files are missing: looked in ${candidates.join(', ')}`);
  return found;
}

/** Strict headers for the console: its own scripts and styles only, never framed. */
function setConsoleHeaders(res: Response): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

const consoleHeaders: RequestHandler = (_req, res, next) => {
  setConsoleHeaders(res);
  next();
};

export const CONSOLE_ROUTES = {
  console: declare({
    method: 'get',
    path: '/',
    operationId: 'console',
    tag: 'meta',
    summary: 'The web console (a static page; its assets are under /console/)',
    access: { kind: 'public' },
    responses: { 200: { description: 'The console page.', contentType: 'text/html', text: z.string().meta({ description: 'index.html' }) } },
    errors: [],
  }),
};

/**
 * The web console: a static single page at `/` (it routes by the URL fragment) and its two assets
 * under /console/. It answers nothing else, so it cannot shadow /v1, /healthz, /metrics or others.
 * Everything it shows comes from the /v1 API with the token the user pastes in.
 */
export function consoleRouter(dir = consoleStaticDir()): Router {
  const r = Router();
  const index = path.join(dir, 'index.html');
  route(r, CONSOLE_ROUTES.console, ({ res, handedOver }) => {
    setConsoleHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
    return handedOver();
  });
  r.use(
    CONSOLE_ASSETS,
    consoleHeaders,
    express.static(dir, { index: false, redirect: false, dotfiles: 'ignore', fallthrough: true, cacheControl: true, maxAge: 0 }),
  );
  return r;
}

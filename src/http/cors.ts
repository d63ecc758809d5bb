import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';

/**
 * The routes a browser may call across origins: what a web front end needs to read its flags (the
 * flags GET and stream, flagd.json, OFREP). Written as express matches routes (any case, an
 * optional trailing slash), so every form that reaches those handlers gets the same headers.
 */
export const CORS_ROUTES = /^\/v1\/services\/[^/]+\/(?:flags(?:\/stream)?|flagd\.json|ofrep\/v1\/evaluate\/flags(?:\/[^/]+)?|ofrep\/events)\/?$/i;

/** Applies the CORS headers to `res`; for a preflight (`OPTIONS`) it also answers it (204). */
export type CorsHeaders = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * The `cors` middleware for the configured origins, or `undefined` when there are none (then no
 * CORS header is ever sent and an `OPTIONS` gets what it always did). The middleware only touches
 * `req.method`, `req.headers` and `res.setHeader`/`end`, and calls `next` synchronously, so the
 * read path (plain node:http) calls the very same function as the express app: the headers agree
 * by construction, which test/http/read-path.test.ts checks.
 *
 * Bearer tokens, not cookies: no credentials mode. `*` in the list allows any origin.
 */
export function flagReadCors(origins: readonly string[]): CorsHeaders | undefined {
  if (origins.length === 0) return undefined;
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-None-Match', 'Last-Event-ID'],
    exposedHeaders: ['ETag', 'Retry-After'],
    // Browsers cap this (Chromium at 2 h); 10 min keeps a changed configuration from lingering.
    maxAge: 600,
  }) as CorsHeaders;
}

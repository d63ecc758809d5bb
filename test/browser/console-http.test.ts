import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleStaticDir } from '../../src/console/console-router.js';
import { startServer, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';

/** What the console needs from the server, over plain HTTP: its files, its headers, GET /v1/whoami. */
describe('web console: served files and whoami', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it('serves the page at / and its assets under /console/, with a strict CSP', async () => {
    const page = await fetch(s.base + '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console/style.css">');

    const js = await fetch(s.base + '/console/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    const css = await fetch(s.base + '/console/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    // Revalidated with an ETag, so a changed file is seen at once. (fetch adds `Cache-Control:
    // no-cache` to a conditional request unless it has one, which would defeat the 304.)
    expect(js.headers.get('cache-control')).toBe('public, max-age=0');
    const again = await fetch(s.base + '/console/app.js', { headers: { 'if-none-match': js.headers.get('etag')!, 'cache-control': 'max-age=0' } });
    expect(again.status).toBe(304);
  });

  it('serves every module the console imports, from app.js down, as JavaScript under the same CSP and caching', async () => {
    const dir = consoleStaticDir(path.join(ROOT, 'src/console'));
    const onDisk = fs
      .readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.js'))
      .map((f) => `/console/${f.split(path.sep).join('/')}`)
      .sort();
    const reached = new Set<string>();
    const queue = ['/console/app.js'];
    while (queue.length > 0) {
      const url = queue.shift()!;
      if (reached.has(url)) continue;
      reached.add(url);
      const res = await fetch(s.base + url);
      expect(res.status, url).toBe(200);
      // A module script with any other type is refused by the browser.
      expect(res.headers.get('content-type'), url).toMatch(/^(text|application)\/javascript/);
      expect(res.headers.get('content-security-policy'), url).toContain("script-src 'self'");
      expect(res.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(res.headers.get('cache-control'), url).toBe('public, max-age=0');
      expect(res.headers.get('etag'), url).toBeTruthy();
      const text = await res.text();
      expect(text.startsWith('// @ts-check\n'), `${url} is type-checked`).toBe(true);
      for (const m of text.matchAll(/^import [^;]*? from '([^']+)';$/gms)) {
        const spec = m[1]!;
        // Relative specifiers only: no bundler, no bare names a browser cannot resolve.
        expect(spec, `${url} imports ${spec}`).toMatch(/^\.\.?\/.*\.js$/);
        queue.push(new URL(spec, `http://x${url}`).pathname);
      }
    }
    // Every module on disk is reached from app.js, and nothing else is.
    expect([...reached].sort()).toEqual(onDisk);
  });

  it('shadows no other route: unknown paths stay problem+json 404s, the API and health answer as before', async () => {
    for (const p of ['/console/nope.js', '/console/', '/console/../package.json', '/index.html', '/app.js']) {
      const res = await fetch(s.base + p);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type'), p).toMatch(/^application\/problem\+json/);
    }
    expect(((await (await fetch(s.base + '/healthz')).json()) as { status: string }).status).toBe('ok');
    expect((await fetch(s.base + '/readyz')).status).toBe(200);
    expect((await fetch(s.base + '/v1/intents')).status).toBe(401);
    expect((await s.api.get('/v1/intents')).status).toBe(200);
  });

  it('finds its files from src/console (vitest) and from dist/src/console (make run)', () => {
    const src = path.join(ROOT, 'src/console/static');
    expect(consoleStaticDir(path.join(ROOT, 'src/console'))).toBe(src);
    expect(consoleStaticDir(path.join(ROOT, 'dist/src/console'))).toBe(src);
    expect(() => consoleStaticDir('/nonexistent/dist/src/console')).toThrow(/web console's files are missing/);
  });

  it('GET /v1/whoami says who a token is, for every role, and needs a token', async () => {
    const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    const sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre', 'privacy'] });
    const web = await s.token({ name: 'web-prod', role: 'service', service: 'web' });
    expect((await owner.get('/v1/whoami')).body).toEqual({ name: 'alice', role: 'owner', team: 'growth', approval_roles: [], service: null });
    expect((await sre.get('/v1/whoami')).body).toEqual({ name: 'sam', role: 'approver', team: null, approval_roles: ['sre', 'privacy'], service: null });
    expect((await web.get('/v1/whoami')).body).toEqual({ name: 'web-prod', role: 'service', team: null, approval_roles: [], service: 'web' });
    const anon = await fetch(s.base + '/v1/whoami');
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { code: string }).code).toBe('unauthorized');
    const revoked = await s.token({ name: 'gone', role: 'operator' });
    await s.api.del(`/v1/tokens/${revoked.id}`);
    expect((await revoked.get('/v1/whoami')).body.code).toBe('unauthorized');
  });
});

import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { DECLARED } from '../../src/http/openapi.js';
import { declarationOf, openApiPath } from '../../src/http/route.js';
import { startServer, type TestServer } from '../helpers/harness.js';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle?: { stack?: Layer[] };
  slash?: boolean;
  rawPath?: string | string[];
}

/** Every route layer of the app as `METHOD /path` (OpenAPI syntax), with the declaration its handler carries. */
function appRoutes(app: Express): { op: string; declared: string | undefined }[] {
  const out: { op: string; declared: string | undefined }[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const d = declarationOf(layer.route.stack[layer.route.stack.length - 1]?.handle);
        for (const p of [layer.route.path].flat()) {
          for (const [m, on] of Object.entries(layer.route.methods)) {
            if (on && m !== '_all') out.push({ op: `${m.toUpperCase()} ${openApiPath(p)}`, declared: d && `${d.method.toUpperCase()} ${openApiPath(d.path)}` });
          }
        }
      } else if (layer.handle?.stack) {
        if (!layer.slash) throw new Error(`a router mounted under ${String(layer.rawPath)}: teach appRoutes its prefix`);
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

describe('route declarations (src/http/route.ts)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s?.close());

  it('every route the app registers is declared beside its handler', () => {
    const routes = appRoutes(buildApp(s.container));
    const undeclared = routes.filter((r) => r.declared === undefined).map((r) => r.op);
    expect(undeclared, 'routes registered without route(decl, handler)').toEqual([]);
    // a handler carries the declaration of its own method and path
    for (const r of routes) if (r.declared !== undefined) expect(r.declared).toBe(r.op);
  });

  it('every declared answer with a body describes it in zod: a JSON component (`body`) or `text`, never a hand-written JSON Schema', () => {
    for (const d of DECLARED) {
      for (const [status, r] of Object.entries(d.responses)) {
        const where = `${d.method.toUpperCase()} ${d.path} ${status}`;
        expect(r.rawSchema, where).toBeUndefined();
        if (r.contentType !== undefined) expect(r.body ?? r.text, where).toBeDefined();
      }
    }
  });

  it('every declaration the document assembles is registered once, through route()', () => {
    const registered = appRoutes(buildApp(s.container)).filter((r) => r.declared !== undefined).map((r) => r.op).sort();
    expect(DECLARED.map((d) => `${d.method.toUpperCase()} ${openApiPath(d.path)}`).sort()).toEqual(registered);
    expect(registered.length).toBeGreaterThanOrEqual(8);
  });
});

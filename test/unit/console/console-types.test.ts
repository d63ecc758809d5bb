import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUDIENCE_OPS, AudienceConditionSchema } from '../../../src/intents/intent-schema.js';

/**
 * What src/console/types.d.ts cannot hold by itself. Its types are the routes' declared answers and
 * the domain's enums (type-only imports; test/types/console-answers.typecheck.js proves a read of an
 * undeclared field fails `make typecheck`), but two things stay outside the type system:
 *  - the values the console keeps at run time because the browser cannot import the server's: the
 *    authoring form's audience operators (static/author-model.js OPS, LIST_OPS);
 *  - that the type-only imports stay type-only: the browser loads src/console/static/ and nothing
 *    else, so a module there that imports a server file at run time fails only in the browser;
 *  - that no module uses a node global: the server types it imports bring node's into the check.
 */
const staticDir = fileURLToPath(new URL('../../../src/console/static/', import.meta.url));
const authorModel = '../../../src/console/static/author-model.js';
const { OPS, LIST_OPS } = (await import(authorModel)) as { OPS: readonly string[]; LIST_OPS: readonly string[] };

function jsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : []));
}

/** The specifiers of a module's run-time imports and re-exports (JSDoc `import('…')` types are comments, left out). */
function runtimeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = [...code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/gm), ...code.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm), ...code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return found.map((m) => m[1]!);
}

describe('console types', () => {
  it("the authoring form offers exactly the domain's audience operators, in its order", () => {
    expect([...OPS]).toEqual([...AUDIENCE_OPS]);
  });

  it('the form sends a list (`values`) for exactly the operators whose condition the schema accepts with one', () => {
    const takesList = AUDIENCE_OPS.filter((op) => AudienceConditionSchema.safeParse({ attribute: 'plan', op, values: ['1.0.0'] }).success);
    expect(takesList.length).toBeGreaterThan(0);
    expect([...LIST_OPS]).toEqual(takesList);
  });

  it('every run-time import of a console module stays inside src/console/static/ (server types are imported as types only)', () => {
    const files = jsFiles(staticDir);
    expect(files.length).toBeGreaterThan(10);
    const outside: string[] = [];
    for (const file of files) {
      for (const spec of runtimeSpecifiers(fs.readFileSync(file, 'utf8'))) {
        const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : null;
        if (target === null || !target.startsWith(staticDir)) outside.push(`${path.relative(staticDir, file)}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("no console module names a node global (express's types make them visible to tsconfig.console.json)", () => {
    const named = jsFiles(staticDir).flatMap((file) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/\b(Buffer|process|require|__dirname|__filename|setImmediate|global)\b/g)].map((m) => `${path.relative(staticDir, file)}: ${m[1]}`),
    );
    expect(named).toEqual([]);
  });
});

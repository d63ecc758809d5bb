import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLAG_ROUTES } from '../../../src/http/flags-router.js';
import { OFREP_ROUTES } from '../../../src/http/ofrep-router.js';
import { paramIndex, pathMatcher } from '../../../src/http/route.js';

/**
 * The read path (src/http/read-path.ts) matches its routes with `pathMatcher` of their declared
 * paths, so the pattern exists once. These hold the matcher to what the read path relies on: the
 * exact declared form only (express answers every other form), one capture per parameter, in the
 * order `paramIndex` names.
 */
const READ_ROUTES = [FLAG_ROUTES.flags, OFREP_ROUTES.bulk, OFREP_ROUTES.single];
/** A raw path segment as a client may send it: percent-encoded anything, never `/` or `?`. */
const segment = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).map((s) => encodeURIComponent(s));

const fill = (path: string, values: Record<string, string>) => path.replace(/(?<!\\):(\w+)/g, (_, name: string) => values[name]!).replace(/\\:/g, ':');

describe('pathMatcher: the read path matches the declared paths, exactly', () => {
  it('captures every parameter of the declared path, in paramIndex order', () => {
    fc.assert(
      fc.property(segment, segment, (service, key) => {
        for (const decl of READ_ROUTES) {
          const m = pathMatcher(decl.path).exec(fill(decl.path, { service, key }));
          expect(m, decl.path).not.toBeNull();
          expect(m![paramIndex(decl.path, 'service')]).toBe(service);
          if (decl.path.includes(':key')) expect(m![paramIndex(decl.path, 'key')]).toBe(key);
        }
      }),
    );
  });

  it('takes no other form: a trailing slash, an extra or missing segment, a prefix, a query, another case', () => {
    fc.assert(
      fc.property(segment, segment, (service, key) => {
        for (const decl of READ_ROUTES) {
          const re = pathMatcher(decl.path);
          const path = fill(decl.path, { service, key });
          for (const other of [`${path}/`, `${path}/x`, `/x${path}`, `${path}?a=1`, path.replace('/v1/', '/V1/'), fill(decl.path, { service: `${service}/x`, key })]) {
            expect(re.test(other), `${decl.path} took ${other}`).toBe(false);
          }
        }
      }),
    );
  });

  it('the two OFREP routes never take the same path', () => {
    fc.assert(
      fc.property(segment, segment, (service, key) => {
        expect(pathMatcher(OFREP_ROUTES.single.path).test(fill(OFREP_ROUTES.bulk.path, { service }))).toBe(false);
        expect(pathMatcher(OFREP_ROUTES.bulk.path).test(fill(OFREP_ROUTES.single.path, { service, key }))).toBe(false);
      }),
    );
  });
});

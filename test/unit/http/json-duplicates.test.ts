import fc from 'fast-check';
import jsonc from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { findDuplicateMember } from '../../../src/http/json-duplicates.js';

/** The oracle: jsonc-parser's visitor (VS Code's JSON parser), collecting names per object. */
function oracle(text: string): (string | number)[] | undefined {
  const stack: Set<string>[] = [];
  let found: (string | number)[] | undefined;
  jsonc.visit(text, {
    onObjectBegin: () => void stack.push(new Set()),
    onObjectEnd: () => void stack.pop(),
    onObjectProperty: (name, _o, _l, _sl, _sc, pathSupplier) => {
      const seen = stack[stack.length - 1]!;
      if (seen.has(name) && !found) found = [...pathSupplier(), name];
      seen.add(name);
    },
  });
  return found;
}

const SEED = 20260701;

describe('findDuplicateMember', () => {
  it.each([
    ['{}', undefined],
    ['[]', undefined],
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":2}', ['a']],
    ['{"a":1,"\\u0061":2}', ['a']],
    ['{"x":{"a":1,"b":{"a":1}},"y":[{"a":1},{"a":2,"c":3,"a":4}]}', ['y', 1, 'a']],
    ['{"a":"\\"a\\":1,\\"a\\":2","b":["a","a"]}', undefined],
    ['{"a\\\\":1,"a\\\\":2}', ['a\\']],
    [' \n{ "k" : { } , "k" : [ ] } ', ['k']],
    ['{"\\ud83d\\ude00":1,"😀":2}', ['😀']],
    ['{"":1,"":2}', ['']],
  ] as const)('%s', (text, expected) => {
    JSON.parse(text); // only valid JSON is ever scanned
    expect(findDuplicateMember(text)).toEqual(expected);
    expect(oracle(text)).toEqual(expected);
  });

  it('agrees with jsonc-parser on arbitrary JSON, with and without planted duplicates', () => {
    console.log(`fast-check seed ${SEED}`);
    // Member names from a small alphabet so that duplicates are common, written with escapes too.
    const name = fc.constantFrom('a', 'b', 'a\\u0062', 'ab', '\\u0061', '"', '\\\\');
    const value = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('1', '-0.5e3', 'true', 'null', '"s"', '"a\\"b"', '"{\\"a\\":1}"'),
        fc.array(tie('v'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
        fc
          .array(fc.tuple(name, tie('v')), { maxLength: 4 })
          .map((ms) => `{${ms.map(([k, v]) => `"${k.replace(/^"$/, '\\"')}" : ${v}`).join(', ')}}`),
      ),
    })).v;
    fc.assert(
      fc.property(value, (text) => {
        JSON.parse(text);
        expect(findDuplicateMember(text)).toEqual(oracle(text));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('does not recurse: 100,000 levels of nesting are scanned without overflowing the stack', () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    expect(findDuplicateMember(deep)).toBeUndefined();
    expect(findDuplicateMember('['.repeat(100_000) + '{"a":1,"a":2}' + ']'.repeat(100_000))).toHaveLength(100_001);
  });
});

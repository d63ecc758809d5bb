import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalContext } from '../../../src/flags/ofrep.js';
import type { EvaluationContext } from '../../../src/evaluation/types.js';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The bulk ETag's context text must stay exactly RFC 8785, as the `canonicalize` library writes it. */
describe('canonicalContext', () => {
  it('writes what canonicalize writes, for any JSON context', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('1', '10', '2', '01', '-1', '4294967295', 'a', 'B', 'é', '😀', '__proto__', 'targetingKey', ''));
    const primitive = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    const context = fc.dictionary(key, fc.oneof({ weight: 4, arbitrary: primitive }, { weight: 1, arbitrary: fc.jsonValue() }), { maxKeys: 8 });
    fc.assert(
      fc.property(context, (c) => {
        // As a request body delivers it: parsed JSON, so "__proto__" is an own member.
        const parsed = JSON.parse(JSON.stringify(c)) as EvaluationContext;
        expect(canonicalContext(parsed)).toBe(canonicalize(parsed));
      }),
      { numRuns: 3000 },
    );
  });

  it('does not depend on the order members were sent in', () => {
    const a = JSON.parse('{"targetingKey":"u-1","country":"US","plan":"pro"}') as EvaluationContext;
    const b = JSON.parse('{"plan":"pro","country":"US","targetingKey":"u-1"}') as EvaluationContext;
    expect(canonicalContext(a)).toBe(canonicalContext(b));
    expect(canonicalContext(a)).toBe('{"country":"US","plan":"pro","targetingKey":"u-1"}');
  });
});

import { z } from 'zod';
import type { FieldError } from '../errors.js';

/**
 * Every bad field, with a JSON-pointer-like dotted path, so a client can fix them all at once.
 * An unknown key is reported at its own path (zod reports it on the enclosing object), so a
 * misspelt `layr` reads as `layr`, not as the whole body.
 */
export function zodFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({ path: pathOf([...i.path, k]), message: `unknown field ${JSON.stringify(k)}` }));
    }
    return [{ path: pathOf(i.path), message: i.message }];
  });
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(body)';
}

/** U+0000–U+001F and U+007F–U+009F: the control characters SPEC §2 keeps out of identifiers. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * An identifier (SPEC §2: intent key, owner, team, service, flag, variant key, layer, audience
 * attribute, data class, metric, token name, approval role): 1 to `max` characters, no control
 * characters. Well-formedness is the HTTP boundary's (assertPlainJson), for every string.
 */
export function identifier(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)');
}

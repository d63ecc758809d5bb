import type { z } from 'zod';
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

import type { z } from 'zod';
import type { FieldError } from '../errors.js';

/** Every bad field, with a JSON-pointer-like dotted path, so a client can fix them all at once. */
export function zodFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(body)',
    message: i.message,
  }));
}

import { describe, expect, it } from 'vitest';
import { ConflictError, ERROR_CODES, ForbiddenError, NotFoundError, PolicyError, SwitchyardError, type ErrorCode } from '../../../src/errors.js';

describe('error catalogue: every status comes from ERROR_CODES', () => {
  it('each code carries its catalogue status, whatever class raises it', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(new SwitchyardError(code, 'm').status, code).toBe(ERROR_CODES[code]);
    }
    expect(new PolicyError('policy_timeout', 'm').status).toBe(422);
    expect(new PolicyError('policy_invalid', 'm').status).toBe(400);
    expect(new ForbiddenError('m', 'self_approval').status).toBe(403);
    expect(new NotFoundError('route_not_found', 'm').status).toBe(404);
    expect(new ConflictError('layer_capacity', 'm', { a: 1 })).toMatchObject({ status: 409, message: 'm', details: { a: 1 } });
  });
});

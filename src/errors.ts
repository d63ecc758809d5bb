/**
 * One error family for the whole service. Every error a client can see carries a stable machine
 * `code` (listed in the README and pinned by test/http/error-codes.test.ts), an HTTP `status` and a
 * human `message`. The HTTP layer maps them to RFC 9457 problem+json; nothing else knows about HTTP.
 */
export class SwitchyardError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export interface FieldError {
  path: string;
  message: string;
}

export class ValidationError extends SwitchyardError {
  readonly errors: FieldError[];
  constructor(errors: FieldError[], message = 'The request is not valid') {
    super('validation_failed', 400, message, { errors });
    this.errors = errors;
  }
}

export class MalformedBodyError extends SwitchyardError {
  constructor(message: string) {
    super('malformed_body', 400, message);
  }
}

export class PayloadTooLargeError extends SwitchyardError {
  constructor(limit: string) {
    super('payload_too_large', 413, `The request body exceeds the limit of ${limit}`);
  }
}

export class UnsupportedMediaTypeError extends SwitchyardError {
  constructor(expected: string) {
    super('unsupported_media_type', 415, `The request body must be ${expected}`);
  }
}

export class UnauthorizedError extends SwitchyardError {
  constructor(message = 'A valid bearer token is required') {
    super('unauthorized', 401, message);
  }
}

export class ForbiddenError extends SwitchyardError {
  constructor(message: string, code = 'forbidden') {
    super(code, 403, message);
  }
}

export class NotFoundError extends SwitchyardError {
  constructor(code: string, message: string) {
    super(code, 404, message);
  }
}

export class ConflictError extends SwitchyardError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 409, message, details);
  }
}

export class UnprocessableError extends SwitchyardError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 422, message, details);
  }
}

export class PolicyError extends SwitchyardError {
  constructor(code: 'policy_unavailable' | 'policy_error' | 'policy_invalid', message: string, status = 503) {
    super(code, status, message);
  }
}

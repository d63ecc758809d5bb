/**
 * One error family for the whole service. Every error a client can see carries a stable machine
 * `code` (listed in docs/errors.md and pinned by test/http/error-codes.test.ts), an HTTP `status` and a
 * human `message`. The HTTP layer maps them to RFC 9457 problem+json; nothing else knows about HTTP.
 */
/**
 * Every error code a client can receive, with its HTTP status. Typing `code` against this list means
 * a new code cannot be thrown without being added here, and test/http/error-codes.test.ts checks
 * that each one is in docs/errors.md (with its status) and reachable.
 */
export const ERROR_CODES = {
  validation_failed: 400,
  malformed_body: 400,
  policy_invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  forbidden_team: 403,
  forbidden_service: 403,
  self_approval: 403,
  approval_role_mismatch: 403,
  intent_not_found: 404,
  decision_not_found: 404,
  token_not_found: 404,
  service_not_found: 404,
  route_not_found: 404,
  intent_exists: 409,
  experiment_completed: 409,
  not_pending_approval: 409,
  already_approved: 409,
  version_changed: 409,
  invalid_transition: 409,
  hold_not_elapsed: 409,
  guardrail_regressed: 409,
  flag_conflict: 409,
  layer_capacity: 409,
  document_too_large: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  policy_timeout: 422,
  too_many_streams: 429,
  internal_error: 500,
  policy_unavailable: 503,
  shutting_down: 503,
  server_busy: 503,
  store_unavailable: 503,
  flag_config_stale: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  /** The status is the catalogue's (ERROR_CODES): a code never travels with another status. */
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CODES[code];
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
    super('validation_failed', message, { errors });
    this.errors = errors;
  }
}

export class MalformedBodyError extends SwitchyardError {
  constructor(message: string) {
    super('malformed_body', message);
  }
}

export class PayloadTooLargeError extends SwitchyardError {
  constructor(limit: string) {
    super('payload_too_large', `The request body exceeds the limit of ${limit}`);
  }
}

export class UnsupportedMediaTypeError extends SwitchyardError {
  constructor(expected: string) {
    super('unsupported_media_type', `The request body must be ${expected}`);
  }
}

export class UnauthorizedError extends SwitchyardError {
  constructor(message = 'A valid bearer token is required') {
    super('unauthorized', message);
  }
}

export class ForbiddenError extends SwitchyardError {
  constructor(message: string, code: 'forbidden' | 'forbidden_team' | 'forbidden_service' | 'self_approval' | 'approval_role_mismatch' = 'forbidden') {
    super(code, message);
  }
}

export class NotFoundError extends SwitchyardError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

export class ConflictError extends SwitchyardError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export class UnprocessableError extends SwitchyardError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export class PolicyError extends SwitchyardError {
  constructor(code: 'policy_invalid' | 'policy_timeout', message: string) {
    super(code, message);
  }
}

/**
 * A change would grow a service's flags document past the cap (SWITCHYARD_MAX_DOCUMENT_BYTES). A
 * 409, not a 413: the request body may be small; it is the service's state (the flags of every
 * experiment on it) that has no room, and it can be made by removing flags elsewhere.
 */
export class DocumentTooLargeError extends SwitchyardError {
  constructor(service: string, bytes: number, currentBytes: number, limit: number) {
    super(
      'document_too_large',
      `The flags document of service ${service} would grow to ${bytes} bytes, over the limit of ${limit} bytes (it is ${currentBytes} bytes now); use fewer or smaller flag values, or complete experiments on ${service}`,
      { service, bytes, current_bytes: currentBytes, limit },
    );
  }
}

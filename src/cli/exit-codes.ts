/**
 * The CLI's exit codes. They are part of its interface (docs/cli.md): scripts branch on them, so a
 * code never changes meaning. 0 also covers "pending approval": the request succeeded, and the
 * output says what is still owed.
 */
export const ExitCode = {
  ok: 0,
  /** The command line is wrong: unknown command or option, missing argument, unreadable input file or config. */
  usage: 1,
  /** The request failed on the client's side: a 4xx other than 401/403, an unreachable server, opa failing. */
  apiError: 2,
  /** The policy denied the intent (submit, update, evaluate). */
  denied: 3,
  /** 401 or 403: no token, an unknown or revoked one, or a role that may not do this. */
  unauthorized: 4,
  /** A 5xx from the server. */
  serverError: 5,
  /** `audit verify`: the chain is broken, or no longer passes through the head given with --head. */
  chainBroken: 6,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an HTTP error status. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.unauthorized;
  if (status >= 500) return ExitCode.serverError;
  return ExitCode.apiError;
}

/** An error the CLI reports with a plain message and a chosen exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error: the command line or a local input is wrong. */
export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message);
}

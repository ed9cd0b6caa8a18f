import type { ErrorBody } from '../core/contract/http.js';
import { EXIT } from './exit-codes.js';

/** Errors `ao` reports and exits on; main.ts prints them and exits with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failed, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'CliError';
  }
}

/** A flag or argument commander accepted but ao cannot use (`-p x` without `=`). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** The API answered with an error: its `ErrorBody`, as it sent it. */
export class ApiError extends CliError {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(body.error, EXIT.failed, body.details);
    this.name = 'ApiError';
  }
}

/** No answer from the API at all. */
export class ApiUnreachableError extends CliError {
  constructor(readonly url: string, cause: unknown) {
    super(`cannot reach the ao API at ${url}: ${cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause)}`);
    this.name = 'ApiUnreachableError';
  }
}

/** An answer that is not what the API's contract says (another service on that port, an older API). */
export class UnexpectedResponseError extends CliError {
  constructor(readonly what: string, problems: string[]) {
    super(`unexpected answer from ${what}: ${problems.slice(0, 5).join('; ')}`);
    this.name = 'UnexpectedResponseError';
  }
}

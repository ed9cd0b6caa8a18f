/**
 * What can go wrong calling the API, as classes the UI narrows with `instanceof`.
 * The client maps HTTP status to a subclass in one place (client.ts `errorFor`).
 */

/** The API's error body: `{ error, details? }` (api/errors.ts). */
export interface ErrorDetails {
  problems?: string[];
  schema?: Record<string, unknown>;
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get problems(): string[] {
    return Array.isArray(this.details.problems) ? this.details.problems.map(String) : [];
  }
}

/** 401: no token, or a wrong one. The dashboard asks for it again. */
export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(401, message);
    this.name = 'UnauthorizedError';
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string, details?: ErrorDetails) {
    super(404, message, details);
    this.name = 'NotFoundError';
  }
}

/** 409: the request conflicts with the current state (run already ended, script still used). */
export class ConflictError extends ApiError {
  constructor(message: string, details?: ErrorDetails) {
    super(409, message, details);
    this.name = 'ConflictError';
  }
}

/** The API did not answer at all: not running, or the network is down. */
export class ApiUnreachableError extends Error {
  constructor(cause: unknown) {
    super('the API does not answer: is `npm start` running?', { cause });
    this.name = 'ApiUnreachableError';
  }
}

/** The API answered something the dashboard does not understand: the two are out of step. */
export class UnexpectedResponseError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`unexpected answer from ${path}`);
    this.name = 'UnexpectedResponseError';
  }
}

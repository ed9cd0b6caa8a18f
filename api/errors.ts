import { ZodError } from 'zod';
import {
  AgentInactiveError,
  AgentNotFoundError,
  ConfigConflictError,
  ForbiddenError,
  InvalidConfigFileError,
  ParametersInvalidError,
  RunNotFoundError,
  RunStopRefusedError,
  ScriptNotFoundError,
  SessionNotFoundError,
  TokenNotFoundError,
  describeIssues,
} from '../core/contract/errors.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: string;
  details?: Record<string, unknown>;
}

/** Domain errors → HTTP status and body, in one place. Unknown errors are 500 without internals. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message, ...(error.details ? { details: error.details } : {}) } };
  if (error instanceof ZodError) return { status: 400, body: { error: 'invalid request', details: { problems: describeIssues(error.issues) } } };
  if (error instanceof ParametersInvalidError) {
    return { status: 400, body: { error: error.message, details: { problems: error.problems, schema: error.schema } } };
  }
  if (error instanceof AgentNotFoundError || error instanceof RunNotFoundError || error instanceof ScriptNotFoundError || error instanceof SessionNotFoundError || error instanceof TokenNotFoundError) {
    return { status: 404, body: { error: error.message } };
  }
  if (error instanceof ForbiddenError) return { status: 403, body: { error: error.message, details: { needs: error.needed } } };
  if (error instanceof ConfigConflictError) return { status: 409, body: { error: error.message, ...(error.details ? { details: error.details } : {}) } };
  if (error instanceof AgentInactiveError) return { status: 409, body: { error: error.message } };
  if (error instanceof RunStopRefusedError) return { status: 409, body: { error: error.message, details: { type: error.type } } };
  if (error instanceof InvalidConfigFileError) return { status: 422, body: { error: error.message, details: { problems: error.problems } } };
  return { status: 500, body: { error: 'internal error' } };
}

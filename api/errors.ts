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
  ChildRunRefusedError,
  RunCommandRefusedError,
  ApprovalRefusedError,
  ScriptNotFoundError,
  SessionNotFoundError,
  TokenNotFoundError,
  EventBatchTooLargeError,
  EventTooLargeError,
  InvalidCursorError,
  RunnerForgetRefusedError,
  RunnerNotFoundError,
  NotificationNotFoundError,
  RunAlreadyExistsError,
  ScheduleNotFoundError,
  TriggerNotFoundError,
  FlowNotFoundError,
  FlowRunNotFoundError,
  FlowStopRefusedError,
  PullRequestNotConfiguredError,
  describeIssues,
} from '../core/contract/errors.js';
import { APPROVAL_NOT_FOUND } from '../core/contract/approvals.js';
import { ConcurrencyKeyError } from '../core/contract/concurrency.js';
import type { ErrorBody } from '../core/contract/http.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A body nested deeper than the limit (api/json-body.ts); `path` is where it first goes too deep. */
export class JsonTooDeepError extends Error {
  constructor(readonly limit: number, readonly path: string) {
    super(`the JSON body nests deeper than ${limit} levels (at ${path || 'the top'})`);
    this.name = 'JsonTooDeepError';
  }
}

/** The body parser refused the body; `reason` is its error, with the `type` and `status` it set. */
export class RequestBodyError extends Error {
  constructor(readonly reason: Error) {
    super(reason.message);
    this.name = 'RequestBodyError';
  }
}

/**
 * What the body parser (express.json) refuses, by the `type` it sets on its errors: the client's
 * fault every one, so a 4xx with the reason. Its other types (a stream read twice) are our bugs: 500.
 */
const BODY_PARSER_ERRORS: Record<string, { status: number; body: (reason: Error & { limit?: unknown }) => ErrorBody }> = {
  'entity.too.large': { status: 413, body: (reason) => ({ error: `the request body is larger than ${String(reason.limit)} bytes`, details: { limit: reason.limit } }) },
  'charset.unsupported': { status: 415, body: (reason) => ({ error: `${reason.message}: send JSON as UTF-8` }) },
  'encoding.unsupported': { status: 415, body: (reason) => ({ error: `${reason.message}: send the body as it is, or as gzip, deflate or br` }) },
  'entity.parse.failed': { status: 400, body: (reason) => ({ error: `malformed JSON body: ${reason.message}` }) },
  'request.size.invalid': { status: 400, body: () => ({ error: 'the body is not as long as its Content-Length says' }) },
  'request.aborted': { status: 400, body: () => ({ error: 'the request was aborted before its body arrived' }) },
};

/** What the body parser refused; a status it does not set a type for (a body labelled gzip that is not) is taken as it is when a 4xx. */
function refusedBody(reason: Error): { status: number; body: ErrorBody } {
  const known = 'type' in reason && typeof reason.type === 'string' ? BODY_PARSER_ERRORS[reason.type] : undefined;
  if (known) return { status: known.status, body: known.body(reason) };
  const status = 'status' in reason && typeof reason.status === 'number' ? reason.status : 500;
  if (status >= 400 && status < 500) return { status, body: { error: `the request body could not be read (does it match its Content-Encoding?): ${reason.message}` } };
  return { status: 500, body: { error: 'internal error' } };
}

/** Domain errors → HTTP status and body, in one place. Unknown errors are 500 without internals. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof RequestBodyError) return refusedBody(error.reason);
  // The router could not percent-decode a path parameter (`/runs/%ff`).
  if (error instanceof URIError) return { status: 400, body: { error: 'the path is not valid percent-encoded UTF-8' } };
  if (error instanceof JsonTooDeepError) return { status: 400, body: { error: error.message, details: { limit: error.limit, path: error.path } } };
  if (error instanceof EventBatchTooLargeError) return { status: 413, body: { error: error.message, details: { limit: error.limit, events: error.count } } };
  if (error instanceof EventTooLargeError) {
    return { status: 413, body: { error: error.message, details: { limit: error.limit, index: error.index, bytes: error.bytes } } };
  }
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message, ...(error.details ? { details: error.details } : {}) } };
  if (error instanceof ZodError) return { status: 400, body: { error: 'invalid request', details: { problems: describeIssues(error.issues) } } };
  if (error instanceof ParametersInvalidError) {
    return { status: 400, body: { error: error.message, details: { problems: error.problems, schema: error.schema } } };
  }
  if (error instanceof AgentNotFoundError || error instanceof RunNotFoundError || error instanceof ScriptNotFoundError || error instanceof SessionNotFoundError || error instanceof TokenNotFoundError || error instanceof RunnerNotFoundError || error instanceof NotificationNotFoundError || error instanceof ScheduleNotFoundError || error instanceof TriggerNotFoundError || error instanceof FlowNotFoundError || error instanceof FlowRunNotFoundError) {
    return { status: 404, body: { error: error.message } };
  }
  if (error instanceof ForbiddenError) return { status: 403, body: { error: error.message, details: { needs: error.needed } } };
  if (error instanceof ConfigConflictError) return { status: 409, body: { error: error.message, ...(error.details ? { details: error.details } : {}) } };
  if (error instanceof AgentInactiveError || error instanceof RunAlreadyExistsError) return { status: 409, body: { error: error.message } };
  if (error instanceof ApprovalRefusedError) return { status: error.type === APPROVAL_NOT_FOUND ? 404 : 409, body: { error: error.message, details: { type: error.type } } };
  if (error instanceof RunStopRefusedError) return { status: 409, body: { error: error.message, details: { type: error.type } } };
  if (error instanceof ChildRunRefusedError) return { status: 409, body: { error: error.message, details: { type: error.type } } };
  if (error instanceof RunCommandRefusedError) return { status: 409, body: { error: error.message, details: { type: error.type } } };
  if (error instanceof RunnerForgetRefusedError || error instanceof FlowStopRefusedError) return { status: 409, body: { error: error.message } };
  if (error instanceof ConcurrencyKeyError) return { status: 400, body: { error: error.message, details: { key: error.key, placeholder: error.placeholder } } };
  if (error instanceof InvalidCursorError) return { status: 400, body: { error: error.message } };
  if (error instanceof PullRequestNotConfiguredError) return { status: 400, body: { error: error.message, details: { agent: error.agent } } };
  if (error instanceof InvalidConfigFileError) return { status: 422, body: { error: error.message, details: { problems: error.problems } } };
  return { status: 500, body: { error: 'internal error' } };
}

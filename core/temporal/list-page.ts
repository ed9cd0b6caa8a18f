import { isGrpcServiceError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
// The client's own raw → info conversion (search attributes, memo through the data converter); its
// `list()` iterator keeps the page token to itself, so a page at a time needs the raw call.
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import { InvalidCursorError } from '../contract/errors.js';

/** What the server answers a page token it cannot read: UNKNOWN (SQL visibility) or INVALID_ARGUMENT. */
const GRPC_REFUSED_TOKEN = new Set([2, 3]);

/**
 * Temporal's page tokens are JSON (every visibility store's): anything else is refused here, before
 * the client would retry the server's answer to it for a good while.
 */
function pageToken(cursor: string): Buffer {
  const token = Buffer.from(cursor, 'base64url');
  try {
    const parsed: unknown = JSON.parse(token.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object') return token;
  } catch {
    // Not JSON: not a token.
  }
  throw new InvalidCursorError();
}

export interface ExecutionPage {
  executions: WorkflowExecutionInfo[];
  /** Temporal's page token as base64url, when there may be more; pass it back as `cursor`. */
  next_cursor?: string;
}

/**
 * One page of a visibility listing, in the order visibility keeps (running first, then by close
 * time). The cursor is Temporal's own page token: a time would skip runs that share a start time
 * or that closed out of start order.
 */
export async function listExecutionsPage(client: Client, query: string, pageSize: number, cursor?: string): Promise<ExecutionPage> {
  const nextPageToken = cursor ? pageToken(cursor) : undefined;
  let response;
  try {
    response = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      pageSize,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
  } catch (error) {
    if (cursor && isGrpcServiceError(error) && GRPC_REFUSED_TOKEN.has(error.code)) throw new InvalidCursorError();
    throw error;
  }
  const converter = client.options.loadedDataConverter;
  const executions = await Promise.all((response.executions ?? []).map((raw) => executionInfoFromRaw(raw, converter, raw, client.options.namespace)));
  const token = response.nextPageToken;
  return { executions, ...(token && token.length ? { next_cursor: Buffer.from(token).toString('base64url') } : {}) };
}

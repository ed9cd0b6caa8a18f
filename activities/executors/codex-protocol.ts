import type { JsonLine } from './cli-support.js';

/**
 * The part of the `codex app-server` protocol (JSON-RPC 2.0, one JSON object a line on stdio) ao
 * uses, named as codex 0.169.0 names it (`codex app-server generate-ts --out DIR`). Server lines
 * omit `"jsonrpc"`; the server's own request ids count from 0, ours from 1.
 */
export const CODEX_METHODS = {
  initialize: 'initialize',
  initialized: 'initialized',
  threadStart: 'thread/start',
  threadResume: 'thread/resume',
  turnStart: 'turn/start',
  turnSteer: 'turn/steer',
  turnInterrupt: 'turn/interrupt',
  turnStarted: 'turn/started',
  turnCompleted: 'turn/completed',
  itemStarted: 'item/started',
  itemCompleted: 'item/completed',
  tokenUsage: 'thread/tokenUsage/updated',
  error: 'error',
  commandApproval: 'item/commandExecution/requestApproval',
  fileChangeApproval: 'item/fileChange/requestApproval',
  requestResolved: 'serverRequest/resolved',
} as const;

/** `AskForApproval` as `thread/start` takes it (no `on-failure`: that is only a config.toml value). */
export type CodexApprovalPolicy = 'untrusted' | 'on-request' | 'never';
export type CodexSandbox = 'read-only' | 'workspace-write' | 'danger-full-access';
/** `CommandExecutionApprovalDecision` / `FileChangeApprovalDecision`: ao answers yes or no, never `cancel` (which ends the turn). */
export type CodexDecision = 'accept' | 'decline';
export type TurnStatus = 'completed' | 'interrupted' | 'failed' | 'inProgress';

/** `UserInput` of type text. */
export const textInput = (text: string) => [{ type: 'text', text, text_elements: [] }];

export interface FileUpdateChange {
  path: string;
  kind: { type: 'add' | 'delete' | 'update' };
}

/** The `ThreadItem`s ao reads (a flat union on the wire). */
export type ThreadItem =
  | { type: 'agentMessage'; id: string; text: string }
  | { type: 'commandExecution'; id: string; command: string; cwd: string; status: string; aggregatedOutput: string | null; exitCode: number | null }
  | { type: 'fileChange'; id: string; changes: FileUpdateChange[]; status: string }
  | { type: string; id: string };

export interface TokenUsageBreakdown {
  totalTokens: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens?: number;
  outputTokens: number;
  reasoningOutputTokens: number;
}


/** One line from the server, told apart by its shape. */
export type ServerLine =
  | { kind: 'response'; id: number; result?: Record<string, unknown>; error?: { code?: number; message?: string } }
  | { kind: 'request'; id: number | string; method: string; params: Record<string, unknown> }
  | { kind: 'notification'; method: string; params: Record<string, unknown> };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function classify(line: JsonLine): ServerLine | undefined {
  const params = isObject(line.params) ? line.params : {};
  const id = line.id;
  const hasId = typeof id === 'number' || typeof id === 'string';
  if (typeof line.method === 'string') return hasId ? { kind: 'request', id, method: line.method, params } : { kind: 'notification', method: line.method, params };
  if (typeof id !== 'number') return undefined;
  return {
    kind: 'response',
    id,
    ...(isObject(line.result) ? { result: line.result } : {}),
    ...(isObject(line.error) ? { error: line.error } : {}),
  };
}

/** A turn error's message: codex wraps an API error body as JSON text; its inner message reads better. */
export function turnErrorMessage(error: unknown): string | undefined {
  const message = isObject(error) && typeof error.message === 'string' ? error.message : undefined;
  if (!message) return undefined;
  try {
    const parsed = JSON.parse(message) as unknown;
    const inner = isObject(parsed) && isObject(parsed.error) ? parsed.error.message : undefined;
    return typeof inner === 'string' ? inner : message;
  } catch {
    return message;
  }
}

/** Codex's token counts in the snake_case ao's events and results use for every CLI. */
export function snakeUsage(usage: TokenUsageBreakdown | undefined): Record<string, number> | undefined {
  if (!usage) return undefined;
  return {
    input_tokens: usage.inputTokens,
    cached_input_tokens: usage.cachedInputTokens,
    ...(usage.cacheWriteInputTokens !== undefined ? { cache_write_input_tokens: usage.cacheWriteInputTokens } : {}),
    output_tokens: usage.outputTokens,
    reasoning_output_tokens: usage.reasoningOutputTokens,
    total_tokens: usage.totalTokens,
  };
}

/**
 * The command as the model wrote it: codex runs (and asks about) `/bin/bash -lc '<cmd>'`; shown
 * and remembered by its first word, the wrapper would make every command the same program.
 */
export function innerCommand(command: string): string {
  const wrapped = /^(?:\/\S+\/)?(?:ba|z)?sh -l?c '([\s\S]*)'$/.exec(command);
  return wrapped ? wrapped[1]!.replace(/'\\''|'"'"'/g, "'") : command;
}

import type * as acp from '@agentclientprotocol/sdk';
import type { ExecutorOutput } from '../../core/contract/executor-protocol.js';
import { NO_USAGE } from '../../core/contract/usage.js';
import { parseJsonLine, parseJsonLines, type JsonLine } from './cli-support.js';
import type { ExecutorEvent, PermissionAsk } from './contract.js';
import type { ProcessOutcome } from './process.js';

/**
 * Gemini's ACP output (`gemini --acp`: JSON-RPC 2.0 lines) read as ao's terms: tool uses as
 * permission asks, `session/update` notifications as events, the prompt results as the run's
 * output. The JSON-RPC plumbing itself (ids, handshakes) never becomes an event.
 */

const SESSION_UPDATE = 'session/update';
const REQUEST_PERMISSION = 'session/request_permission';
/** Set-mode echoes this into the agent's text stream; it is not the model speaking. */
const MODE_UPDATE_PREFIX = '[MODE_UPDATE]';
/** Tool call ids are `<tool name>__<call id>`: the name the profile's `approval_required_tools` uses. */
const TOOL_NAME = /^([A-Za-z0-9_.-]+?)__/;
const SUMMARY_LIMIT = 2000;

const summarise = (text: string): string => (text.length > SUMMARY_LIMIT ? `${text.slice(0, SUMMARY_LIMIT)}…` : text);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The tool's own name (`run_shell_command`, `write_file`, …), else its ACP kind. */
export function toolNameOf(toolCall: Pick<acp.ToolCallUpdate, 'toolCallId' | 'kind'>): string {
  return TOOL_NAME.exec(toolCall.toolCallId)?.[1] ?? toolCall.kind ?? 'other';
}

/** The text parts of a tool call's content (what a shell printed, an explanation, an error). */
function contentText(toolCall: acp.ToolCallUpdate): string {
  return (toolCall.content ?? [])
    .map((part) => (part.type === 'content' && part.content.type === 'text' ? part.content.text : ''))
    .filter(Boolean)
    .join('\n');
}

const lineCount = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/**
 * What a finished tool gave the model, as ACP tells it: its text, else what its diffs wrote (a
 * write's update carries only the diff), else that it gave nothing.
 */
function resultText(toolCall: acp.ToolCallUpdate): string {
  const text = contentText(toolCall);
  if (text) return text;
  const diffs = (toolCall.content ?? []).flatMap((part) => (part.type === 'diff' && typeof part.newText === 'string' ? [`${part.path}: ${lineCount(part.newText)} lines written`] : []));
  if (diffs.length) return diffs.join('\n');
  return `${toolCall.status ?? 'completed'}, no output`;
}

/** Files a tool call names: its locations and the paths of its diffs. */
function filesOf(toolCall: acp.ToolCallUpdate): string[] {
  const paths = [...(toolCall.locations ?? []).map((location) => location.path), ...(toolCall.content ?? []).flatMap((part) => (part.type === 'diff' ? [part.path] : []))];
  return [...new Set(paths)];
}

/** What ACP tells of a tool call (it carries no raw arguments): kind, title, text, files and diffs. */
function inputOf(toolCall: acp.ToolCallUpdate): Record<string, unknown> {
  const diffs = (toolCall.content ?? []).flatMap((part) => (part.type === 'diff' ? [{ path: part.path, old_text: part.oldText ?? '', new_text: part.newText }] : []));
  const text = contentText(toolCall);
  const files = filesOf(toolCall);
  return {
    kind: toolCall.kind ?? 'other',
    title: toolCall.title ?? '',
    ...(text ? { description: text } : {}),
    ...(files.length ? { files } : {}),
    ...(diffs.length ? { diffs } : {}),
  };
}

/** A `session/request_permission` tool call as ao's question: the shell command for `execute`, the files for edits. */
export function permissionAsk(toolCall: acp.ToolCallUpdate): PermissionAsk {
  const files = filesOf(toolCall);
  return {
    tool: toolNameOf(toolCall),
    input: inputOf(toolCall),
    ...(toolCall.kind === 'execute' && toolCall.title ? { command: toolCall.title } : {}),
    ...(files.length ? { files } : {}),
  };
}

const CHANGES_FILES = new Set(['edit', 'delete', 'move']);

function toolCallEvent(toolCall: acp.ToolCallUpdate): ExecutorEvent {
  return { kind: 'tool_call', data: { id: toolCall.toolCallId, name: toolNameOf(toolCall), input: inputOf(toolCall) } };
}

/** A finished tool call: its result, and for a completed edit the files it touched. */
function toolResultEvents(toolCall: acp.ToolCallUpdate): ExecutorEvent[] {
  const failed = toolCall.status === 'failed';
  const events: ExecutorEvent[] = [{ kind: 'tool_result', data: { tool_use_id: toolCall.toolCallId, is_error: failed, output: summarise(resultText(toolCall)) } }];
  if (!failed && CHANGES_FILES.has(toolCall.kind ?? '')) {
    const operation = toolCall.kind === 'edit' ? (toolNameOf(toolCall) === 'write_file' ? 'write' : 'edit') : toolCall.kind;
    for (const file of filesOf(toolCall)) events.push({ kind: 'file_touched', data: { path: file, operation, tool: toolNameOf(toolCall) } });
  }
  return events;
}

/** The message of a JSON-RPC error, with the details gemini puts in `data`. */
export function rpcErrorMessage(error: unknown): string {
  if (!isRecord(error)) return 'unknown error';
  const details = isRecord(error.data) && typeof error.data.details === 'string' ? error.data.details : undefined;
  const message = typeof error.message === 'string' ? error.message : 'unknown error';
  return details && details !== message ? `${message}: ${details}` : message;
}

type Update = { sessionUpdate?: string; content?: { type?: string; text?: string } } & Partial<acp.ToolCallUpdate>;

/** Whether a line is the answer to one of ao's requests (not a request or notification from the CLI). */
const isResponse = (line: JsonLine): boolean => line.id !== undefined && line.method === undefined && ('result' in line || 'error' in line);
const updateOf = (line: JsonLine): Update | undefined =>
  line.method === SESSION_UPDATE && isRecord(line.params) && isRecord(line.params.update) ? line.params.update : undefined;
const resultOf = (line: JsonLine): Record<string, unknown> | undefined => (isResponse(line) && isRecord(line.result) ? line.result : undefined);

/** The model's own text in an update, if it is an agent message chunk. */
function agentText(update: Update | undefined): string | undefined {
  if (update?.sessionUpdate !== 'agent_message_chunk' || update.content?.type !== 'text' || typeof update.content.text !== 'string') return undefined;
  return update.content.text.startsWith(MODE_UPDATE_PREFIX) ? undefined : update.content.text;
}

/** A prompt's token counts (`_meta.quota`): the only usage gemini reports over ACP. */
function quotaOf(result: Record<string, unknown>): { input_tokens: number; output_tokens: number; model_usage?: unknown } {
  const quota = isRecord(result._meta) && isRecord(result._meta.quota) ? result._meta.quota : {};
  const count = isRecord(quota.token_count) ? quota.token_count : {};
  const number = (value: unknown): number => (typeof value === 'number' ? value : 0);
  return { input_tokens: number(count.input_tokens), output_tokens: number(count.output_tokens), ...(quota.model_usage !== undefined ? { model_usage: quota.model_usage } : {}) };
}

/**
 * One run's ACP stdout as events. Per run: the session is reported once, and what the CLI sends
 * before ao's first prompt (a loaded session's history, replayed) is not news.
 */
export class AcpEventReader {
  private sessionReported = false;

  /** `live`: ao has sent its first prompt. */
  constructor(private readonly live: () => boolean) {}

  events(text: string): ExecutorEvent[] {
    const line = parseJsonLine(text);
    if (!line) return [];
    const events: ExecutorEvent[] = [];
    const sessionId = sessionIdOf(line);
    if (sessionId && !this.sessionReported) {
      this.sessionReported = true;
      const models = resultOf(line)?.models;
      const model = isRecord(models) && typeof models.currentModelId === 'string' ? models.currentModelId : undefined;
      events.push({ kind: 'session_started', data: { session_id: sessionId, ...(model ? { model } : {}) } });
    }
    return [...events, ...this.lineEvents(line)];
  }

  private lineEvents(line: JsonLine): ExecutorEvent[] {
    if (line.method === REQUEST_PERMISSION && isRecord(line.params) && isRecord(line.params.toolCall)) {
      // A tool that asks gets no `tool_call` update of its own: the question is where it shows.
      return [toolCallEvent(line.params.toolCall as acp.ToolCallUpdate)];
    }
    if (isResponse(line)) {
      if (line.error !== undefined) return [{ kind: 'alert', data: { kind: 'executor_error', message: `gemini: ${rpcErrorMessage(line.error)}` } }];
      const result = resultOf(line);
      if (typeof result?.stopReason !== 'string') return [];
      const { input_tokens, output_tokens, model_usage } = quotaOf(result);
      const usage = { ...NO_USAGE, input_tokens, output_tokens, turns: 1, ...(model_usage !== undefined ? { raw: { model_usage } } : {}) };
      return [{ kind: 'usage_tick', data: { scope: 'call', stop_reason: result.stopReason, usage } }];
    }
    const update = updateOf(line);
    if (!update || !this.live()) return [];
    const text = agentText(update);
    if (text !== undefined) return [{ kind: 'message', data: { role: 'assistant', text, delta: true } }];
    if (update.sessionUpdate === 'tool_call' && typeof update.toolCallId === 'string' && (update.status === 'pending' || update.status === 'in_progress')) {
      return [toolCallEvent(update as acp.ToolCallUpdate)];
    }
    if (update.sessionUpdate === 'tool_call_update' && typeof update.toolCallId === 'string' && (update.status === 'completed' || update.status === 'failed')) {
      return toolResultEvents(update as acp.ToolCallUpdate);
    }
    return [];
  }
}

function sessionIdOf(line: JsonLine): string | undefined {
  const result = resultOf(line);
  if (typeof result?.sessionId === 'string') return result.sessionId;
  return isRecord(line.params) && typeof line.params.sessionId === 'string' ? line.params.sessionId : undefined;
}

/** A line that ends the model's current message: an answer to ao, or a tool use. */
function endsMessage(line: JsonLine): boolean {
  if (isResponse(line) || line.method === REQUEST_PERMISSION) return true;
  const kind = updateOf(line)?.sessionUpdate;
  return kind === 'tool_call' || kind === 'tool_call_update';
}

/**
 * The run's output from its ACP stdout: the last prompt's final message, the session, the tokens
 * of every prompt. A JSON-RPC error, a last prompt that did not end its turn, or no prompt result
 * at all fails the run with the reason.
 */
export function acpOutput(outcome: ProcessOutcome, resumedSession: string | undefined): ExecutorOutput {
  const lines = parseJsonLines(outcome.stdout);
  const sessionId = lines.map(sessionIdOf).find((id) => id !== undefined) ?? resumedSession;
  const session = sessionId ? { session_id: sessionId } : {};
  const failed = (error: string): ExecutorOutput => ({ status: 'failed', error: `gemini: ${error}`, ...session });
  const rpcError = [...lines].reverse().find((line) => isResponse(line) && line.error !== undefined);
  if (rpcError) return failed(rpcErrorMessage(rpcError.error));
  const prompts = lines.flatMap((line, index) => (typeof resultOf(line)?.stopReason === 'string' ? [index] : []));
  const last = prompts.at(-1);
  if (last === undefined || outcome.exitCode !== 0) {
    const tail = outcome.stderr.trim().split('\n').slice(-3).join('\n');
    const how = `exited with code ${outcome.exitCode ?? outcome.signal}${last === undefined ? ' without a prompt result' : ''}`;
    return failed(`${how}${tail ? `: ${tail}` : ''}`);
  }
  const stopReason = resultOf(lines[last]!)!.stopReason as string;
  const usage = prompts.map((index) => quotaOf(resultOf(lines[index]!)!)).reduce((sum, one) => ({ input_tokens: sum.input_tokens + one.input_tokens, output_tokens: sum.output_tokens + one.output_tokens }), { input_tokens: 0, output_tokens: 0 });
  let start = last - 1;
  while (start >= 0 && !endsMessage(lines[start]!)) start -= 1;
  const text = lines.slice(start + 1, last).map((line) => agentText(updateOf(line)) ?? '').join('');
  const data = { text, usage, stop_reason: stopReason, prompts: prompts.length, ...(sessionId ? { session_id: sessionId } : {}) };
  if (stopReason !== 'end_turn') return { ...failed(`the prompt ended with ${stopReason}`), result_data: data };
  return { status: 'completed', result_data: data, ...session };
}

import { bodyModel, isRecord, postsTo, sendEvent, startScriptedEndpoint, type Exchange, type RecordedRequest, type ScriptedEndpoint, type TurnTiming } from './scripted-endpoint.js';

/**
 * A scripted stand-in for the Anthropic Messages API, for driving the real `claude` CLI offline.
 * Each conversation request (by default: a `POST /v1/messages` whose `tools` include `Write`; a subagent's
 * requests count too) gets the next scripted turn; everything else the CLI asks (the `HEAD /api/hello`
 * health check, token counting, title generation, ...) gets a harmless answer and leaves the script alone.
 */

export interface ToolCall {
  /** Tool name as the CLI declares it: `Write`, `Edit`, `Bash`, `Read`, ... */
  tool: string;
  input: Record<string, unknown>;
  /** The tool_use id; `toolu_scripted_<n>` by default. */
  id?: string;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** One model reply: text then tool calls, as the real API orders them. */
export interface ReplyTurn extends TurnTiming {
  text?: string;
  tools?: ToolCall[];
  /** Defaults to `tool_use` when the turn calls tools, else `end_turn`. */
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';
  usage?: Partial<Usage>;
}

/** An API failure, either as an HTTP error status or (inStream) as an SSE `error` event after a 200. */
export interface ErrorTurn extends TurnTiming {
  error: { status: number; type: string; message: string };
  inStream?: boolean;
  /** Sent as `x-should-retry`, which the CLI's API client obeys over its own status-based choice. */
  shouldRetry?: boolean;
  /**
   * How many consecutive main requests get this error (default 1). The CLI retries 5xx/529 with backoff and
   * answers a 400 by re-sending with fewer betas, so one failure is usually several requests.
   */
  times?: number;
}

export type Turn = ReplyTurn | ErrorTurn;

export type { RecordedRequest } from './scripted-endpoint.js';
export type ScriptedAnthropic = ScriptedEndpoint;

export interface MessageBlock {
  type: string;
  [key: string]: unknown;
}

export interface Message {
  role: string;
  content: string | MessageBlock[];
}

export const reply = (text: string, extra: Omit<ReplyTurn, 'text'> = {}): ReplyTurn => ({ text, ...extra });
export const callTool = (tool: string, input: Record<string, unknown>, extra: Omit<ReplyTurn, 'tools'> = {}): ReplyTurn => ({
  tools: [{ tool, input }],
  ...extra,
});
export const apiError = (status: number, type: string, message: string, extra: Omit<ErrorTurn, 'error'> = {}): ErrorTurn => ({
  error: { status, type, message },
  ...extra,
});

export { gate } from './scripted-endpoint.js';

/** The `messages` of a recorded Messages API request ([] for anything else). */
export function messagesOf(request: RecordedRequest): Message[] {
  const messages = isRecord(request.body) ? request.body.messages : undefined;
  if (!Array.isArray(messages)) return [];
  return messages.filter((m): m is Message => isRecord(m) && typeof m.role === 'string' && (typeof m.content === 'string' || Array.isArray(m.content)));
}

/** Every content block of a request's messages, optionally of one type, in order. */
export function blocksOf(request: RecordedRequest, type?: string): MessageBlock[] {
  const blocks = messagesOf(request).flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content));
  return blocks.filter((b) => isRecord(b) && (type === undefined || b.type === type));
}

function toolNames(body: Record<string, unknown>): string[] {
  if (!Array.isArray(body.tools)) return [];
  return body.tools.flatMap((t) => (isRecord(t) && typeof t.name === 'string' ? [t.name] : []));
}

const defaultUsage: Usage = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface ScriptedAnthropicOptions {
  /** Which Messages requests consume the script; override when the CLI runs without `Write` (e.g. `--disallowedTools Write`). */
  isMain?: (body: Record<string, unknown>) => boolean;
}

const hasWriteTool = (body: Record<string, unknown>): boolean => toolNames(body).includes('Write');

export function startScriptedAnthropic(script: Turn[], options: ScriptedAnthropicOptions = {}): Promise<ScriptedAnthropic> {
  return startScriptedEndpoint<ReplyTurn, ErrorTurn, RecordedRequest>(script, {
    name: 'scripted-anthropic',
    ...postsTo('/v1/messages', 'request-id'),
    isMain: options.isMain ?? hasWriteTool,
    // Token counting; health checks (HEAD /api/hello) and anything else get a plain 200 so the CLI proceeds.
    answerOther: (exchange) => exchange.json(200, exchange.pathname === '/v1/messages/count_tokens' ? { input_tokens: 100 } : {}),
    sendReply: sendMessage,
    errorAnswer: ({ error: { status, type, message }, shouldRetry }) => ({
      status,
      body: { type: 'error', error: { type, message } },
      headers: shouldRetry === undefined ? {} : { 'x-should-retry': String(shouldRetry) },
    }),
    sendStreamError: (exchange, { error: { type, message } }) => {
      exchange.startEvents();
      sendEvent(exchange.res, 'message_start', { message: messageShell(exchange, defaultUsage) });
      sendEvent(exchange.res, 'error', { error: { type, message } });
      exchange.res.end();
    },
    // A 400, which the CLI does not retry (it re-sends a few times with fewer betas, then gives up), so a short
    // script fails the run with this message instead of hanging it.
    exhausted: (message) => apiError(400, 'invalid_request_error', message),
  });
}

function blocksFor(exchange: Exchange<RecordedRequest>, turn: ReplyTurn): ContentBlock[] {
  const blocks: ContentBlock[] = turn.text === undefined ? [] : [{ type: 'text', text: turn.text }];
  for (const call of turn.tools ?? []) blocks.push({ type: 'tool_use', id: call.id ?? `toolu_scripted_${exchange.newId()}`, name: call.tool, input: call.input });
  return blocks;
}

function sendMessage(exchange: Exchange<RecordedRequest>, turn: ReplyTurn): void {
  const { res } = exchange;
  const usage = { ...defaultUsage, ...turn.usage };
  const blocks = blocksFor(exchange, turn);
  const stopReason = turn.stopReason ?? (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  if (!exchange.stream) return exchange.json(200, { ...messageShell(exchange, usage), content: blocks, stop_reason: stopReason });
  exchange.startEvents();
  // message_start carries the input side of usage; message_delta the final output count, as the real API does.
  sendEvent(res, 'message_start', { message: messageShell(exchange, { ...usage, output_tokens: 1 }) });
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      sendEvent(res, 'content_block_start', { index, content_block: { type: 'text', text: '' } });
      sendEvent(res, 'content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      sendEvent(res, 'content_block_start', { index, content_block: { ...block, input: {} } });
      sendEvent(res, 'content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    sendEvent(res, 'content_block_stop', { index });
  });
  sendEvent(res, 'message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  sendEvent(res, 'message_stop', {});
  res.end();
}

function messageShell(exchange: Exchange<RecordedRequest>, usage: Usage) {
  const model = bodyModel(exchange, 'claude-scripted');
  return { id: `msg_scripted_${exchange.ordinal}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage };
}

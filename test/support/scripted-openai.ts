import { bodyModel, isRecord, postsTo, sendEvent, startScriptedEndpoint, type Exchange, type RecordedRequest, type ScriptedEndpoint, type TurnTiming } from './scripted-endpoint.js';

/**
 * A scripted stand-in for the OpenAI Responses API, for driving the real `codex` CLI offline.
 * Each conversation request (by default: a `POST /v1/responses` whose `tools` include `exec_command`) gets the
 * next scripted turn; everything else (a models listing, a tool-less side request, ...) gets a harmless answer
 * and leaves the script alone. Codex 0.169 makes no side requests to a custom provider in `exec` mode, but a
 * later version might, and a side request consuming a turn would silently shift the whole script.
 */

export interface ToolCall {
  /** Tool name as the CLI declares it in the request's `tools`: `exec_command`, `apply_patch`, `write_stdin`, ... */
  tool: string;
  /**
   * Object: the JSON arguments of a `function` tool (`exec_command`: `{cmd, workdir?, ...}`), sent as a
   * `function_call` item. String: the raw input of a freeform `custom` tool (`apply_patch`: the patch text), sent
   * as a `custom_tool_call` item.
   */
  input: Record<string, unknown> | string;
  /** The call_id the CLI echoes back with the tool's output; `call_scripted_<n>` by default. */
  id?: string;
}

/** The Responses API usage, flattened; `response.completed` nests the details as the real API does. */
export interface Usage {
  input_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
}

/** One model reply: a message then tool calls, as the real API orders its output items. */
export interface ReplyTurn extends TurnTiming {
  text?: string;
  tools?: ToolCall[];
  usage?: Partial<Usage>;
}

/** An API failure, either as an HTTP error status or (inStream) as a `response.failed` event after a 200. */
export interface ErrorTurn extends TurnTiming {
  /** `code` defaults to `type`; codex reads it to tell e.g. `insufficient_quota` or `context_length_exceeded` apart. */
  error: { status: number; type: string; message: string; code?: string };
  inStream?: boolean;
  /**
   * How many consecutive main requests get this error (default 1). Codex retries 5xx and 429 by itself (silently
   * up to the provider's `request_max_retries`, then "Reconnecting... n/m" up to `stream_max_retries`), so one
   * failure is usually several requests unless the test sets those to 0.
   */
  times?: number;
}

export type Turn = ReplyTurn | ErrorTurn;

export type { RecordedRequest } from './scripted-endpoint.js';
/** Its `url` is the base URL without `/v1`; codex's provider `base_url` is `${url}/v1`. */
export type ScriptedOpenAI = ScriptedEndpoint;

/** One item of a request's `input`: a message, a tool call the model made, or a tool call's output. */
export interface InputItem {
  type: string;
  [key: string]: unknown;
}

export const reply = (text: string, extra: Omit<ReplyTurn, 'text'> = {}): ReplyTurn => ({ text, ...extra });
export const callTool = (tool: string, input: ToolCall['input'], extra: Omit<ReplyTurn, 'tools'> = {}): ReplyTurn => ({
  tools: [{ tool, input }],
  ...extra,
});
/** A shell command through codex's `exec_command` tool (`workdir` defaults to the turn's cwd). */
export const runCommand = (cmd: string, extra: Omit<ReplyTurn, 'tools'> & { workdir?: string } = {}): ReplyTurn => {
  const { workdir, ...rest } = extra;
  return callTool('exec_command', workdir === undefined ? { cmd } : { cmd, workdir }, rest);
};
/** A file edit through codex's freeform `apply_patch` tool: `*** Begin Patch` ... `*** End Patch`. */
export const applyPatch = (patch: string, extra: Omit<ReplyTurn, 'tools'> = {}): ReplyTurn => callTool('apply_patch', patch, extra);
export const apiError = (status: number, type: string, message: string, extra: Omit<ErrorTurn, 'error'> & { code?: string } = {}): ErrorTurn => {
  const { code, ...rest } = extra;
  return { error: code === undefined ? { status, type, message } : { status, type, message, code }, ...rest };
};

export { gate } from './scripted-endpoint.js';

/** The `input` items of a recorded Responses request, optionally of one type ([] for anything else). */
export function inputOf(request: RecordedRequest, type?: string): InputItem[] {
  const input = isRecord(request.body) ? request.body.input : undefined;
  if (!Array.isArray(input)) return [];
  return input.filter((item): item is InputItem => isRecord(item) && typeof item.type === 'string' && (type === undefined || item.type === type));
}

/** The texts of a request's `message` items from one role (`user`, `assistant`, `developer`), in order. */
export function messageTexts(request: RecordedRequest, role: string): string[] {
  return inputOf(request, 'message')
    .filter((m) => m.role === role)
    .flatMap((m) => (Array.isArray(m.content) ? (m.content as unknown[]) : []))
    .flatMap((part) => (isRecord(part) && typeof part.text === 'string' ? [part.text] : []));
}

/** The names of the tools a request offers the model (a `namespace` of tools counts by its own name). */
export function toolNames(request: RecordedRequest): string[] {
  const tools = isRecord(request.body) ? request.body.tools : undefined;
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t) => (isRecord(t) && typeof t.name === 'string' ? [t.name] : []));
}

const defaultUsage: Usage = { input_tokens: 100, cached_tokens: 0, cache_write_tokens: 0, output_tokens: 20, reasoning_tokens: 0 };

type OutputItem =
  | { type: 'message'; id: string; role: 'assistant'; status: 'completed'; content: { type: 'output_text'; text: string; annotations: [] }[] }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'completed' }
  | { type: 'custom_tool_call'; id: string; call_id: string; name: string; input: string; status: 'completed' };

function usageOf(usage: Usage) {
  return {
    input_tokens: usage.input_tokens,
    input_tokens_details: { cached_tokens: usage.cached_tokens, cache_write_tokens: usage.cache_write_tokens },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
    total_tokens: usage.input_tokens + usage.output_tokens,
  };
}

export interface ScriptedOpenAIOptions {
  /** Which Responses requests consume the script; override when the CLI runs without `exec_command`. */
  isMain?: (body: Record<string, unknown>) => boolean;
}

const hasShellTool = (body: Record<string, unknown>): boolean =>
  Array.isArray(body.tools) && body.tools.some((t) => isRecord(t) && t.name === 'exec_command');

export function startScriptedOpenAI(script: Turn[], options: ScriptedOpenAIOptions = {}): Promise<ScriptedOpenAI> {
  return startScriptedEndpoint<ReplyTurn, ErrorTurn, RecordedRequest>(script, {
    name: 'scripted-openai',
    ...postsTo('/v1/responses', 'x-request-id'),
    isMain: options.isMain ?? hasShellTool,
    answerOther: ({ request, pathname, json }) =>
      // Both shapes of a models listing: OpenAI's `data` and codex's own `models`, each empty.
      json(200, request.method === 'GET' && pathname === '/v1/models' ? { object: 'list', data: [], models: [] } : {}),
    sendReply: sendResponse,
    errorAnswer: ({ error }) => ({ status: error.status, body: { error: { message: error.message, type: error.type, param: null, code: codeOf(error) } } }),
    sendStreamError: (exchange, { error }) => {
      exchange.startEvents();
      const shell = responseShell(exchange, 'in_progress');
      sendEvent(exchange.res, 'response.created', { response: shell });
      sendEvent(exchange.res, 'response.failed', { response: { ...shell, status: 'failed', error: { code: codeOf(error), message: error.message } } });
      exchange.res.end();
    },
    // A 400, which codex neither retries nor waits out, so a short script fails the run with this message (as an
    // `error` line and `turn.failed`) instead of hanging it.
    exhausted: (message) => apiError(400, 'invalid_request_error', message),
  });
}

const codeOf = (error: ErrorTurn['error']): string => error.code ?? error.type;

function itemsFor(exchange: Exchange<RecordedRequest>, turn: ReplyTurn): OutputItem[] {
  const items: OutputItem[] = [];
  if (turn.text !== undefined) {
    const id = `msg_scripted_${exchange.ordinal}`;
    items.push({ type: 'message', id, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.text, annotations: [] }] });
  }
  for (const call of turn.tools ?? []) {
    const n = exchange.newId();
    const callId = call.id ?? `call_scripted_${n}`;
    items.push(
      typeof call.input === 'string'
        ? { type: 'custom_tool_call', id: `ctc_scripted_${n}`, call_id: callId, name: call.tool, input: call.input, status: 'completed' }
        : { type: 'function_call', id: `fc_scripted_${n}`, call_id: callId, name: call.tool, arguments: JSON.stringify(call.input), status: 'completed' },
    );
  }
  return items;
}

function sendResponse(exchange: Exchange<RecordedRequest>, turn: ReplyTurn): void {
  const { res } = exchange;
  const usage = usageOf({ ...defaultUsage, ...turn.usage });
  const items = itemsFor(exchange, turn);
  const completed = { ...responseShell(exchange, 'completed'), output: items, usage };
  if (!exchange.stream) return exchange.json(200, completed);
  exchange.startEvents();
  sendEvent(res, 'response.created', { response: responseShell(exchange, 'in_progress') });
  items.forEach((item, output_index) => {
    // `added` carries the item's shell; codex takes the finished item (and so the tool call) from `done`.
    if (item.type === 'message') {
      sendEvent(res, 'response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
      sendEvent(res, 'response.output_text.delta', { item_id: item.id, output_index, content_index: 0, delta: item.content[0]!.text });
    } else if (item.type === 'function_call') {
      sendEvent(res, 'response.output_item.added', { output_index, item: { ...item, status: 'in_progress', arguments: '' } });
    } else {
      sendEvent(res, 'response.output_item.added', { output_index, item: { ...item, status: 'in_progress', input: '' } });
    }
    sendEvent(res, 'response.output_item.done', { output_index, item });
  });
  sendEvent(res, 'response.completed', { response: completed });
  res.end();
}

function responseShell(exchange: Exchange<RecordedRequest>, status: 'in_progress' | 'completed') {
  const model = bodyModel(exchange, 'gpt-scripted');
  return { id: `resp_scripted_${exchange.ordinal}`, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model, output: [] };
}

import http from 'node:http';
import { RequestLog, isRecord, listenOnLoopback, readBody } from './scripted-server.js';

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

/** When a turn is answered: at once, or (with `until`) when the test says so, never after a fixed time. */
interface TurnTiming {
  /** Answer only once this settles (see `gate()`): lets a test stop the CLI while a turn is in flight. */
  until?: Promise<unknown>;
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

export interface RecordedRequest {
  method: string;
  /** Path with query, e.g. `/v1/responses`. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the body is JSON, else the raw text ('' for none). */
  body: unknown;
  /** `main` requests consume the script; `side` requests never do. */
  kind: 'main' | 'side';
  /** For main requests: the index of the script turn that answered (past the end: none was left). */
  turn?: number;
}

export interface ScriptedOpenAI {
  /** Base URL without `/v1`; codex's provider `base_url` is `${url}/v1`. */
  url: string;
  requests: RecordedRequest[];
  /** The conversation requests, in order. */
  readonly mainRequests: RecordedRequest[];
  /** Resolves with the `count`-th main request once it has arrived (1-based), e.g. to stop the CLI mid-turn. */
  waitForMainRequest(count: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

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

export { gate } from './scripted-server.js';


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

function errorBody(type: string, message: string, code: string): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

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

export async function startScriptedOpenAI(script: Turn[], options: ScriptedOpenAIOptions = {}): Promise<ScriptedOpenAI> {
  const isMain = options.isMain ?? hasShellTool;
  const log = new RequestLog<RecordedRequest>();
  const { requests } = log;
  const mainRequests = (): RecordedRequest[] => log.mainRequests;
  let cursor = 0;
  let usesOfCursor = 0;
  let nextId = 0;
  let closing = false;

  const server = http.createServer((req, res) => {
    readBody(req, (body) => {
      const path = req.url ?? '/';
      const pathname = path.split('?')[0] ?? path;
      const isResponses = req.method === 'POST' && pathname === '/v1/responses';
      const kind = isResponses && isRecord(body) && isMain(body) ? 'main' : 'side';
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, kind };
      if (kind === 'main') recorded.turn = takeTurn();
      log.record(recorded);
      const stream = isRecord(body) && body.stream === true;
      const model = isRecord(body) && typeof body.model === 'string' ? body.model : 'gpt-scripted';

      if (kind === 'side') {
        if (isResponses) return sendResponse(res, stream, model, { text: 'OK' });
        // Both shapes of a models listing: OpenAI's `data` and codex's own `models`, each empty.
        if (req.method === 'GET' && pathname === '/v1/models') return sendJson(res, 200, JSON.stringify({ object: 'list', data: [], models: [] }));
        return sendJson(res, 200, '{}');
      }
      const turn = script[recorded.turn!];
      // Past the end of the script: a 400, which codex neither retries nor waits out, so a short script fails the
      // run with this message (as an `error` line and `turn.failed`) instead of hanging it.
      if (!turn) {
        const message = `scripted-openai: script exhausted (${script.length} turns)`;
        return sendJson(res, 400, errorBody('invalid_request_error', message, 'invalid_request_error'));
      }
      void (async () => {
        if (turn.until) await turn.until;
        // The CLI may have been stopped, or the server closed, while the turn waited.
        if (closing || res.destroyed) return;
        if ('error' in turn) return sendError(res, stream, model, turn);
        sendResponse(res, stream, model, turn);
      })();
    });
  });

  function takeTurn(): number {
    const index = cursor;
    const turn = script[index];
    const times = turn && 'error' in turn ? (turn.times ?? 1) : 1;
    if (turn && ++usesOfCursor >= times) {
      cursor++;
      usesOfCursor = 0;
    }
    return index;
  }

  function sendJson(res: http.ServerResponse, status: number, json: string): void {
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_scripted_${requests.length}` });
    res.end(json);
  }

  function sendError(res: http.ServerResponse, stream: boolean, model: string, turn: ErrorTurn): void {
    const { status, type, message } = turn.error;
    const code = turn.error.code ?? type;
    if (!(turn.inStream && stream)) return sendJson(res, status, errorBody(type, message, code));
    startStream(res);
    const shell = responseShell(model, 'in_progress');
    sse(res, 'response.created', { response: shell });
    sse(res, 'response.failed', { response: { ...shell, status: 'failed', error: { code, message } } });
    res.end();
  }

  function itemsFor(turn: ReplyTurn): OutputItem[] {
    const n = requests.length;
    const items: OutputItem[] = [];
    if (turn.text !== undefined) {
      items.push({ type: 'message', id: `msg_scripted_${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.text, annotations: [] }] });
    }
    for (const call of turn.tools ?? []) {
      const callId = call.id ?? `call_scripted_${++nextId}`;
      items.push(
        typeof call.input === 'string'
          ? { type: 'custom_tool_call', id: `ctc_scripted_${nextId}`, call_id: callId, name: call.tool, input: call.input, status: 'completed' }
          : { type: 'function_call', id: `fc_scripted_${nextId}`, call_id: callId, name: call.tool, arguments: JSON.stringify(call.input), status: 'completed' },
      );
    }
    return items;
  }

  function sendResponse(res: http.ServerResponse, stream: boolean, model: string, turn: ReplyTurn): void {
    const usage = usageOf({ ...defaultUsage, ...turn.usage });
    const items = itemsFor(turn);
    const completed = { ...responseShell(model, 'completed'), output: items, usage };
    if (!stream) return sendJson(res, 200, JSON.stringify(completed));
    startStream(res);
    sse(res, 'response.created', { response: responseShell(model, 'in_progress') });
    items.forEach((item, output_index) => {
      // `added` carries the item's shell; codex takes the finished item (and so the tool call) from `done`.
      if (item.type === 'message') {
        sse(res, 'response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
        sse(res, 'response.output_text.delta', { item_id: item.id, output_index, content_index: 0, delta: item.content[0]!.text });
      } else if (item.type === 'function_call') {
        sse(res, 'response.output_item.added', { output_index, item: { ...item, status: 'in_progress', arguments: '' } });
      } else {
        sse(res, 'response.output_item.added', { output_index, item: { ...item, status: 'in_progress', input: '' } });
      }
      sse(res, 'response.output_item.done', { output_index, item });
    });
    sse(res, 'response.completed', { response: completed });
    res.end();
  }

  function responseShell(model: string, status: 'in_progress' | 'completed') {
    return { id: `resp_scripted_${requests.length}`, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model, output: [] };
  }

  function startStream(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_scripted_${requests.length}` });
  }

  function sse(res: http.ServerResponse, event: string, data: Record<string, unknown>): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  }

  const listening = await listenOnLoopback(server);
  return {
    url: listening.url,
    requests,
    get mainRequests() {
      return mainRequests();
    },
    waitForMainRequest: (count) => log.waitForMainRequest(count),
    async close() {
      closing = true;
      await listening.close();
    },
  };
}

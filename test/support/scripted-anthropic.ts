import http from 'node:http';
import { RequestLog, isRecord, listenOnLoopback, readBody } from './scripted-server.js';

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

/** When a turn is answered: at once, or (with `until`) when the test says so, never after a fixed time. */
interface TurnTiming {
  /** Answer only once this settles (see `gate()`): lets a test stop the CLI while a turn is in flight. */
  until?: Promise<unknown>;
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

export interface RecordedRequest {
  method: string;
  /** Path with query, e.g. `/v1/messages?beta=true`. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the body is JSON, else the raw text ('' for none). */
  body: unknown;
  /** `main` requests consume the script; `side` requests never do. */
  kind: 'main' | 'side';
  /** For main requests: the index of the script turn that answered (past the end: none was left). */
  turn?: number;
}

export interface ScriptedAnthropic {
  url: string;
  requests: RecordedRequest[];
  /** The conversation requests, in order. */
  readonly mainRequests: RecordedRequest[];
  /** Resolves with the `count`-th main request once it has arrived (1-based), e.g. to stop the CLI mid-turn. */
  waitForMainRequest(count: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

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

export { gate } from './scripted-server.js';


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

function errorBody(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

export interface ScriptedAnthropicOptions {
  /** Which Messages requests consume the script; override when the CLI runs without `Write` (e.g. `--disallowedTools Write`). */
  isMain?: (body: Record<string, unknown>) => boolean;
}

const hasWriteTool = (body: Record<string, unknown>): boolean => toolNames(body).includes('Write');

export async function startScriptedAnthropic(script: Turn[], options: ScriptedAnthropicOptions = {}): Promise<ScriptedAnthropic> {
  const isMain = options.isMain ?? hasWriteTool;
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
      const isMessages = req.method === 'POST' && pathname === '/v1/messages';
      const kind = isMessages && isRecord(body) && isMain(body) ? 'main' : 'side';
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, kind };
      if (kind === 'main') recorded.turn = takeTurn();
      log.record(recorded);
      const stream = isRecord(body) && body.stream === true;
      const model = isRecord(body) && typeof body.model === 'string' ? body.model : 'claude-scripted';

      if (kind === 'side') {
        if (isMessages) return sendMessage(res, stream, model, { text: 'OK' });
        if (pathname === '/v1/messages/count_tokens') return sendJson(res, 200, JSON.stringify({ input_tokens: 100 }));
        // Health checks (HEAD /api/hello) and anything else: a plain 200 so the CLI proceeds.
        return sendJson(res, 200, '{}');
      }
      const turn = script[recorded.turn!];
      // Past the end of the script: a 400, which the CLI does not retry (it re-sends a few times with fewer
      // betas, then gives up), so a short script fails the run with this message instead of hanging it.
      if (!turn) return sendJson(res, 400, errorBody('invalid_request_error', `scripted-anthropic: script exhausted (${script.length} turns)`));
      void (async () => {
        if (turn.until) await turn.until;
        // The CLI may have been stopped, or the server closed, while the turn waited.
        if (closing || res.destroyed) return;
        if ('error' in turn) return sendError(res, stream, model, turn);
        sendMessage(res, stream, model, turn);
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

  function sendJson(res: http.ServerResponse, status: number, json: string, headers: http.OutgoingHttpHeaders = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_scripted_${requests.length}`, ...headers });
    res.end(json);
  }

  function sendError(res: http.ServerResponse, stream: boolean, model: string, turn: ErrorTurn): void {
    const { status, type, message } = turn.error;
    if (!(turn.inStream && stream)) {
      return sendJson(res, status, errorBody(type, message), turn.shouldRetry === undefined ? {} : { 'x-should-retry': String(turn.shouldRetry) });
    }
    startStream(res);
    sse(res, 'message_start', { message: messageShell(model, defaultUsage) });
    sse(res, 'error', { error: { type, message } });
    res.end();
  }

  function blocksFor(turn: ReplyTurn): ContentBlock[] {
    const blocks: ContentBlock[] = turn.text === undefined ? [] : [{ type: 'text', text: turn.text }];
    for (const call of turn.tools ?? []) blocks.push({ type: 'tool_use', id: call.id ?? `toolu_scripted_${++nextId}`, name: call.tool, input: call.input });
    return blocks;
  }

  function sendMessage(res: http.ServerResponse, stream: boolean, model: string, turn: ReplyTurn): void {
    const usage = { ...defaultUsage, ...turn.usage };
    const blocks = blocksFor(turn);
    const stopReason = turn.stopReason ?? (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
    if (!stream) {
      return sendJson(res, 200, JSON.stringify({ ...messageShell(model, usage), content: blocks, stop_reason: stopReason }));
    }
    startStream(res);
    // message_start carries the input side of usage; message_delta the final output count, as the real API does.
    sse(res, 'message_start', { message: messageShell(model, { ...usage, output_tokens: 1 }) });
    blocks.forEach((block, index) => {
      if (block.type === 'text') {
        sse(res, 'content_block_start', { index, content_block: { type: 'text', text: '' } });
        sse(res, 'content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
      } else {
        sse(res, 'content_block_start', { index, content_block: { ...block, input: {} } });
        sse(res, 'content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      }
      sse(res, 'content_block_stop', { index });
    });
    sse(res, 'message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    sse(res, 'message_stop', {});
    res.end();
  }

  function messageShell(model: string, usage: Usage) {
    return { id: `msg_scripted_${requests.length}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage };
  }

  function startStream(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_scripted_${requests.length}` });
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

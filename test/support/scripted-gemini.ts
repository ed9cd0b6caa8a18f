import http from 'node:http';
import { RequestLog, isRecord, listenOnLoopback, readBody } from './scripted-server.js';

/**
 * A scripted stand-in for the Gemini API (`generativelanguage.googleapis.com`), for driving the real `gemini`
 * CLI offline (point `GOOGLE_GEMINI_BASE_URL` at `url`). Each conversation request (by default: a
 * `POST /v1beta/models/<model>:streamGenerateContent` or `:generateContent` that declares function tools; a
 * subagent's requests count too) gets the next scripted turn. Everything else the CLI asks (the next-speaker
 * check, loop detection, routing, ... which are `generateContent` calls without tools and with a JSON schema;
 * token counting; model listing) gets a harmless answer and leaves the script alone.
 */

export interface FunctionCall {
  /** Tool name as the CLI declares it: `write_file`, `replace`, `run_shell_command`, `read_file`, ... */
  name: string;
  args: Record<string, unknown>;
  /** The functionCall id; omitted by default, as the real API does (the CLI then makes up its own). */
  id?: string;
}

export interface UsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
}

export type FinishReason = 'STOP' | 'MAX_TOKENS' | 'SAFETY' | 'RECITATION' | 'MALFORMED_FUNCTION_CALL' | 'OTHER';

/** When a turn is answered: at once, or (with `until`) when the test says so, never after a fixed time. */
interface TurnTiming {
  /** Answer only once this settles (see `gate()`): lets a test stop the CLI while a turn is in flight. */
  until?: Promise<unknown>;
}

/** One model reply: thought, text, then function calls, as the real API orders them. */
export interface ReplyTurn extends TurnTiming {
  /** Sent as a `{text, thought: true}` part before the answer. */
  thought?: string;
  text?: string;
  calls?: FunctionCall[];
  /** Defaults to `STOP`, which the real API also sends after function calls. */
  finishReason?: FinishReason;
  /** `totalTokenCount` defaults to the sum of the other two. */
  usage?: Partial<UsageMetadata>;
}

/** A Google-style API failure: an HTTP error status with `{error: {code, message, status, details}}`. */
export interface ErrorTurn extends TurnTiming {
  error: { code: number; status: string; message: string; details?: Record<string, unknown>[] };
  /**
   * How many consecutive main requests get this error (default 1). The CLI retries 429/5xx with a 5 s backoff up to
   * `general.maxAttempts` times (default 10), so one failure is usually several requests.
   */
  times?: number;
}

export type Turn = ReplyTurn | ErrorTurn;

export interface RecordedRequest {
  method: string;
  /** Path with query, e.g. `/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`. */
  path: string;
  /** The model named in the path, if any. */
  model?: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the body is JSON, else the raw text ('' for none). */
  body: unknown;
  /** `main` requests consume the script; `side` requests never do. */
  kind: 'main' | 'side';
  /** For main requests: the index of the script turn that answered (past the end: none was left). */
  turn?: number;
}

export interface ScriptedGemini {
  url: string;
  requests: RecordedRequest[];
  /** The conversation requests, in order. */
  readonly mainRequests: RecordedRequest[];
  /** Resolves with the `count`-th main request once it has arrived (1-based), e.g. to stop the CLI mid-turn. */
  waitForMainRequest(count: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export interface Part {
  text?: string;
  thought?: boolean;
  functionCall?: { name: string; args?: Record<string, unknown>; id?: string };
  functionResponse?: { name: string; response: Record<string, unknown>; id?: string };
  [key: string]: unknown;
}

export interface Content {
  role: string;
  parts: Part[];
}

export const reply = (text: string, extra: Omit<ReplyTurn, 'text'> = {}): ReplyTurn => ({ text, ...extra });
export const callTool = (name: string, args: Record<string, unknown>, extra: Omit<ReplyTurn, 'calls'> = {}): ReplyTurn => ({
  calls: [{ name, args }],
  ...extra,
});
export const apiError = (code: number, status: string, message: string, extra: Omit<ErrorTurn, 'error'> = {}): ErrorTurn => ({
  error: { code, status, message },
  ...extra,
});

export { gate } from './scripted-server.js';


/** The `contents` of a recorded generateContent request ([] for anything else). */
export function contentsOf(request: RecordedRequest): Content[] {
  const contents = isRecord(request.body) ? request.body.contents : undefined;
  if (!Array.isArray(contents)) return [];
  return contents.filter((c): c is Content => isRecord(c) && typeof c.role === 'string' && Array.isArray(c.parts));
}

/** Every part of a request's contents that has `key` (`text`, `functionCall`, `functionResponse`, ...), in order. */
export function partsOf(request: RecordedRequest, key?: keyof Part): Part[] {
  return contentsOf(request)
    .flatMap((c) => c.parts)
    .filter((p) => isRecord(p) && (key === undefined || p[key] !== undefined));
}

/** The function names a request declares in `tools[].functionDeclarations`. */
export function declaredTools(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body.tools)) return [];
  return body.tools.flatMap((tool) => {
    const declarations = isRecord(tool) ? tool.functionDeclarations : undefined;
    if (!Array.isArray(declarations)) return [];
    return declarations.flatMap((d) => (isRecord(d) && typeof d.name === 'string' ? [d.name] : []));
  });
}

const defaultUsage: UsageMetadata = { promptTokenCount: 100, candidatesTokenCount: 20, totalTokenCount: 120 };
/** What a side request reports: small and fixed, so tests can tell it apart in the CLI's per-model stats. */
export const sideUsage: UsageMetadata = { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 };

function usageOf(turn: ReplyTurn): UsageMetadata {
  const usage = { ...defaultUsage, ...turn.usage };
  if (turn.usage?.totalTokenCount === undefined) usage.totalTokenCount = usage.promptTokenCount + usage.candidatesTokenCount;
  return usage;
}

/**
 * A value that satisfies a JSON schema as plainly as possible: the first enum value, '', 0, false, [], and objects
 * with every declared property. The CLI's utility calls (next speaker: `{next_speaker: 'user'}` ends the turn; loop
 * detection: confidence 0) all read such an answer as "nothing to do".
 */
export function plainValueFor(schema: unknown): unknown {
  if (!isRecord(schema)) return {};
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = typeof schema.type === 'string' ? schema.type.toLowerCase() : 'object';
  switch (type) {
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    default: {
      const properties = isRecord(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, plainValueFor(value)]));
    }
  }
}

export interface ScriptedGeminiOptions {
  /** Which generateContent requests consume the script; override e.g. to ignore a subagent's requests. */
  isMain?: (body: Record<string, unknown>, path: string) => boolean;
}

// The CLI's utility calls (next speaker, loop detection, routing, compression) declare no tools; the main chat
// always does, even when policy withholds the write tools (read_file, glob, ... stay).
const declaresTools = (body: Record<string, unknown>): boolean => declaredTools(body).length > 0;

const generatePath = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/;

export async function startScriptedGemini(script: Turn[], options: ScriptedGeminiOptions = {}): Promise<ScriptedGemini> {
  const isMain = options.isMain ?? declaresTools;
  const log = new RequestLog<RecordedRequest>();
  const { requests } = log;
  const mainRequests = (): RecordedRequest[] => log.mainRequests;
  let cursor = 0;
  let usesOfCursor = 0;
  let closing = false;

  const server = http.createServer((req, res) => {
    readBody(req, (body) => {
      const path = req.url ?? '/';
      const pathname = path.split('?')[0] ?? path;
      const match = generatePath.exec(pathname);
      const model = match?.[1] ?? /^\/v1(?:beta|alpha)?\/models\/([^/:]+)/.exec(pathname)?.[1];
      const method = match?.[2];
      const isGenerate = req.method === 'POST' && (method === 'streamGenerateContent' || method === 'generateContent');
      const kind = isGenerate && isRecord(body) && isMain(body, path) ? 'main' : 'side';
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, kind };
      if (model !== undefined) recorded.model = model;
      if (kind === 'main') recorded.turn = takeTurn();
      log.record(recorded);
      const stream = method === 'streamGenerateContent';
      const modelVersion = model ?? 'gemini-scripted';

      if (kind === 'side') {
        if (isGenerate) return sendReply(res, stream, modelVersion, sideAnswer(body), sideUsage);
        if (method === 'countTokens') return sendJson(res, 200, { totalTokens: 100 });
        if (req.method === 'GET' && pathname.endsWith('/models')) return sendJson(res, 200, { models: [] });
        if (req.method === 'GET' && model !== undefined) return sendJson(res, 200, { name: `models/${model}` });
        // Anything else: a plain 200 so the CLI proceeds.
        return sendJson(res, 200, {});
      }
      const turn = script[recorded.turn!];
      // Past the end of the script: a 400, which the CLI does not retry, so a short script fails the run with this
      // message instead of hanging it.
      if (!turn) return sendError(res, { code: 400, status: 'INVALID_ARGUMENT', message: `scripted-gemini: script exhausted (${script.length} turns)` });
      void (async () => {
        if (turn.until) await turn.until;
        // The CLI may have been stopped, or the server closed, while the turn waited.
        if (closing || res.destroyed) return;
        if ('error' in turn) return sendError(res, turn.error);
        sendReply(res, stream, modelVersion, partsFor(turn), usageOf(turn), turn.finishReason);
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

  /** A JSON answer shaped by the request's response schema when it asks for JSON, else a plain 'OK'. */
  function sideAnswer(body: unknown): Part[] {
    const config = isRecord(body) && isRecord(body.generationConfig) ? body.generationConfig : {};
    if (config.responseMimeType !== 'application/json') return [{ text: 'OK' }];
    return [{ text: JSON.stringify(plainValueFor(config.responseJsonSchema ?? config.responseSchema)) }];
  }

  function partsFor(turn: ReplyTurn): Part[] {
    const parts: Part[] = [];
    if (turn.thought !== undefined) parts.push({ text: turn.thought, thought: true });
    if (turn.text !== undefined) parts.push({ text: turn.text });
    for (const call of turn.calls ?? []) parts.push({ functionCall: { name: call.name, args: call.args, ...(call.id === undefined ? {} : { id: call.id }) } });
    return parts;
  }

  function sendJson(res: http.ServerResponse, status: number, json: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(json));
  }

  function sendError(res: http.ServerResponse, error: ErrorTurn['error']): void {
    sendJson(res, error.code, { error: { code: error.code, message: error.message, status: error.status, ...(error.details ? { details: error.details } : {}) } });
  }

  function sendReply(res: http.ServerResponse, stream: boolean, modelVersion: string, parts: Part[], usage: UsageMetadata, finishReason: FinishReason = 'STOP'): void {
    const responseId = `scripted-${requests.length}`;
    const response = (chunkParts: Part[], last: boolean) => ({
      candidates: [{ content: { role: 'model', parts: chunkParts }, index: 0, ...(last ? { finishReason } : {}) }],
      // The CLI keeps the last usage it sees; the real API sends a running count on every chunk.
      usageMetadata: usage,
      modelVersion,
      responseId,
    });
    if (!stream) return sendJson(res, 200, response(parts, true));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // One chunk per part, the finish reason on the last, as the real API streams them.
    const chunks = parts.length > 0 ? parts.map((part) => [part]) : [[]];
    chunks.forEach((chunkParts, index) => res.write(`data: ${JSON.stringify(response(chunkParts, index === chunks.length - 1))}\r\n\r\n`));
    res.end();
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

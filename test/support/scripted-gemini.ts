import { isRecord, startScriptedEndpoint, type Exchange, type RecordedRequest as EndpointRequest, type ScriptedEndpoint, type TurnTiming } from './scripted-endpoint.js';

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

export interface RecordedRequest extends EndpointRequest {
  /** The model named in the path, if any. */
  model?: string;
}

export type ScriptedGemini = ScriptedEndpoint<RecordedRequest>;

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

export { gate } from './scripted-endpoint.js';

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

export function startScriptedGemini(script: Turn[], options: ScriptedGeminiOptions = {}): Promise<ScriptedGemini> {
  return startScriptedEndpoint<ReplyTurn, ErrorTurn, RecordedRequest>(script, {
    name: 'scripted-gemini',
    asksModel: (method, pathname) => method === 'POST' && routeOf(pathname).generates,
    isMain: options.isMain ?? declaresTools,
    asksStream: (_request, pathname) => routeOf(pathname).call === 'streamGenerateContent',
    describe: (pathname) => {
      const { model } = routeOf(pathname);
      return model === undefined ? {} : { model };
    },
    jsonType: 'application/json; charset=UTF-8',
    sideReply: (body) => ({ text: sideAnswer(body), usage: sideUsage }),
    answerOther,
    sendReply,
    errorAnswer: ({ error: { code, message, status, details } }) => ({ status: code, body: { error: { code, message, status, ...(details ? { details } : {}) } } }),
    // A 400, which the CLI does not retry, so a short script fails the run with this message instead of hanging it.
    exhausted: (message) => apiError(400, 'INVALID_ARGUMENT', message),
  });
}

const generatePath = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/;
const modelPath = /^\/v1(?:beta|alpha)?\/models\/([^/:]+)/;

/** What a request's path names: the model, and the method called on it. */
function routeOf(pathname: string) {
  const match = generatePath.exec(pathname);
  const call = match?.[2];
  return { model: match?.[1] ?? modelPath.exec(pathname)?.[1], call, generates: call === 'streamGenerateContent' || call === 'generateContent' };
}

function answerOther({ request, pathname, json }: Exchange<RecordedRequest>): void {
  if (routeOf(pathname).call === 'countTokens') return json(200, { totalTokens: 100 });
  if (request.method === 'GET' && pathname.endsWith('/models')) return json(200, { models: [] });
  if (request.method === 'GET' && request.model !== undefined) return json(200, { name: `models/${request.model}` });
  // Anything else: a plain 200 so the CLI proceeds.
  json(200, {});
}

/** A JSON answer shaped by the request's response schema when it asks for JSON, else a plain 'OK'. */
function sideAnswer(body: unknown): string {
  const config = isRecord(body) && isRecord(body.generationConfig) ? body.generationConfig : {};
  if (config.responseMimeType !== 'application/json') return 'OK';
  return JSON.stringify(plainValueFor(config.responseJsonSchema ?? config.responseSchema));
}

function partsFor(turn: ReplyTurn): Part[] {
  const parts: Part[] = [];
  if (turn.thought !== undefined) parts.push({ text: turn.thought, thought: true });
  if (turn.text !== undefined) parts.push({ text: turn.text });
  for (const call of turn.calls ?? []) parts.push({ functionCall: { name: call.name, args: call.args, ...(call.id === undefined ? {} : { id: call.id }) } });
  return parts;
}

function sendReply(exchange: Exchange<RecordedRequest>, turn: ReplyTurn): void {
  const parts = partsFor(turn);
  const response = (chunkParts: Part[], last: boolean) => ({
    candidates: [{ content: { role: 'model', parts: chunkParts }, index: 0, ...(last ? { finishReason: turn.finishReason ?? 'STOP' } : {}) }],
    // The CLI keeps the last usage it sees; the real API sends a running count on every chunk.
    usageMetadata: usageOf(turn),
    modelVersion: exchange.request.model ?? 'gemini-scripted',
    responseId: `scripted-${exchange.ordinal}`,
  });
  if (!exchange.stream) return exchange.json(200, response(parts, true));
  exchange.startEvents();
  // One chunk per part, the finish reason on the last, as the real API streams them.
  const chunks = parts.length > 0 ? parts.map((part) => [part]) : [[]];
  chunks.forEach((chunkParts, index) => exchange.res.write(`data: ${JSON.stringify(response(chunkParts, index === chunks.length - 1))}\r\n\r\n`));
  exchange.res.end();
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The core of the scripted vendor endpoints (Anthropic, OpenAI, Gemini): an HTTP server on loopback that logs every
 * request and hands each conversation ("main") request the next turn of a script, when the turn's timing allows.
 * A vendor module supplies only its wire format (`WireFormat`): which requests are main, and how answers look.
 */

/** When a turn is answered: at once, or (with `until`) when the test says so, never after a fixed time. */
export interface TurnTiming {
  /** Answer only once this settles (see `gate()`): lets a test stop the CLI while a turn is in flight. */
  until?: Promise<unknown>;
}

/** What the core reads of an error turn. */
export interface FailureTurn extends TurnTiming {
  error: object;
  /** Sent as an error event after a 200 when the request streams and the vendor has such events. */
  inStream?: boolean;
  /** How many consecutive main requests get this error (default 1). */
  times?: number;
}

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

export interface ScriptedEndpoint<R extends RecordedRequest = RecordedRequest> {
  url: string;
  /** Every request, in order. */
  requests: R[];
  /** The conversation requests, in order. */
  readonly mainRequests: R[];
  /** Resolves with the `count`-th main request once it has arrived (1-based), e.g. to stop the CLI mid-turn. */
  waitForMainRequest(count: number): Promise<R>;
  /** Stops listening; also ends held turns and keep-alive sockets, which would keep it waiting. */
  close(): Promise<void>;
}

/** One request being answered. */
export interface Exchange<R extends RecordedRequest> {
  request: R;
  /** `request.path` without its query. */
  pathname: string;
  /** Whether the answer goes as server-sent events. */
  stream: boolean;
  /** The request's 1-based place in the log, for the ids of a reply. */
  ordinal: number;
  res: http.ServerResponse;
  /** A fresh number for the ids a reply makes up (tool calls), counted per endpoint. */
  newId: () => number;
  /** Answers with a JSON body. */
  json: (status: number, body: unknown, headers?: http.OutgoingHttpHeaders) => void;
  /** Starts a 200 answer of server-sent events. */
  startEvents: () => void;
}

/** What a vendor module tells the core: everything about its wire format, nothing about scripts or timing. */
export interface WireFormat<Reply extends TurnTiming, Failure extends FailureTurn, R extends RecordedRequest> {
  /** Names the endpoint in its "script exhausted" answer, e.g. `scripted-anthropic`. */
  name: string;
  /** Whether a request asks the model for a reply (the vendor's generate call); only those can be main. */
  asksModel(method: string, pathname: string): boolean;
  /** Which requests that ask the model consume the script; the rest are the CLI's own (titles, checks, ...). */
  isMain(body: Record<string, unknown>, path: string): boolean;
  /** Whether a request wants its answer as server-sent events. */
  asksStream(request: R, pathname: string): boolean;
  /** Fields the vendor records of a request beyond the core's. */
  describe?(pathname: string): Omit<R, keyof RecordedRequest>;
  /** Headers every answer carries besides its content type (a request id, say). */
  answerHeaders?(ordinal: number): http.OutgoingHttpHeaders;
  /** @defaultValue `application/json` */
  jsonType?: string;
  /** What a side request that asks the model gets. */
  sideReply(body: unknown): Reply;
  /** Answers every other side request (health checks, token counts, model listings, ...). */
  answerOther(exchange: Exchange<R>): void;
  sendReply(exchange: Exchange<R>, turn: Reply): void;
  /** An error turn as an HTTP error answer. */
  errorAnswer(turn: Failure): { status: number; body: unknown; headers?: http.OutgoingHttpHeaders };
  /** An `inStream` error turn on a streaming request: an error event after a 200. */
  sendStreamError?(exchange: Exchange<R>, turn: Failure): void;
  /** The error turn that answers a main request past the end of the script; `message` says so. */
  exhausted(message: string): Failure;
}

/** A promise a test resolves by hand, for a turn's `until`. */
export function gate(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The routing of an API that asks the model by POSTing one path, says `stream` in the body and names each answer
 * with a request id header (Anthropic, OpenAI); the CLI's own model requests (a title, say) get a plain 'OK'.
 */
export function postsTo(conversationPath: string, requestIdHeader: string) {
  return {
    asksModel: (method: string, pathname: string): boolean => method === 'POST' && pathname === conversationPath,
    asksStream: ({ body }: RecordedRequest): boolean => isRecord(body) && body.stream === true,
    answerHeaders: (ordinal: number): http.OutgoingHttpHeaders => ({ [requestIdHeader]: `req_scripted_${ordinal}` }),
    sideReply: () => ({ text: 'OK' }),
  };
}

/** The model a request's body names, for APIs that name it there (Anthropic, OpenAI). */
export const bodyModel = ({ request }: Exchange<RecordedRequest>, fallback: string): string =>
  isRecord(request.body) && typeof request.body.model === 'string' ? request.body.model : fallback;

/** Writes a named event whose data repeats the name as `type`, as the Anthropic and OpenAI APIs do. */
export function sendEvent(res: http.ServerResponse, event: string, data: Record<string, unknown>): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
}

/** Serves `script` in `format` on a free loopback port. */
export async function startScriptedEndpoint<Reply extends TurnTiming, Failure extends FailureTurn, R extends RecordedRequest>(
  script: Array<Reply | Failure>,
  format: WireFormat<Reply, Failure, R>,
): Promise<ScriptedEndpoint<R>> {
  const log = new RequestLog<R>();
  const cursor = new TurnCursor(script);
  let ids = 0;
  let closing = false;

  const answer = (exchange: Exchange<R>, turn: Reply | Failure): void => {
    if (!('error' in turn)) return format.sendReply(exchange, turn);
    if (turn.inStream && exchange.stream && format.sendStreamError) return format.sendStreamError(exchange, turn);
    const { status, body, headers } = format.errorAnswer(turn);
    exchange.json(status, body, headers);
  };

  const exchangeFor = (request: R, pathname: string, res: http.ServerResponse): Exchange<R> => {
    const ordinal = log.requests.length;
    const headers = format.answerHeaders?.(ordinal);
    return {
      request,
      pathname,
      stream: format.asksStream(request, pathname),
      ordinal,
      res,
      newId: () => ++ids,
      json: (status, body, extra) => {
        res.writeHead(status, { 'content-type': format.jsonType ?? 'application/json', ...headers, ...extra });
        res.end(JSON.stringify(body));
      },
      startEvents: () => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers }),
    };
  };

  const server = http.createServer((req, res) => {
    readBody(req, (body) => {
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const pathname = path.split('?')[0] ?? path;
      const asksModel = format.asksModel(method, pathname);
      const kind = asksModel && isRecord(body) && format.isMain(body, path) ? 'main' : 'side';
      const request = { method, path, headers: req.headers, body, kind, ...format.describe?.(pathname) } as R;
      if (kind === 'main') request.turn = cursor.take();
      log.record(request);
      const exchange = exchangeFor(request, pathname, res);
      if (kind === 'side') return asksModel ? format.sendReply(exchange, format.sideReply(body)) : format.answerOther(exchange);
      const turn = script[request.turn!] ?? format.exhausted(`${format.name}: script exhausted (${script.length} turns)`);
      void (async () => {
        if (turn.until) await turn.until;
        // The CLI may have been stopped, or the server closed, while the turn waited.
        if (closing || res.destroyed) return;
        answer(exchange, turn);
      })();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: log.requests,
    get mainRequests() {
      return log.mainRequests;
    },
    waitForMainRequest: (count) => log.waitForMainRequest(count),
    close() {
      closing = true;
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Which script turn answers each main request: an error turn answers `times` of them (default 1), others one. */
class TurnCursor {
  private index = 0;
  private uses = 0;

  constructor(private readonly script: Array<TurnTiming | FailureTurn>) {}

  take(): number {
    const index = this.index;
    const turn = this.script[index];
    const times = turn && 'error' in turn ? (turn.times ?? 1) : 1;
    if (turn && ++this.uses >= times) {
      this.index++;
      this.uses = 0;
    }
    return index;
  }
}

/** Every request an endpoint saw, in order; tests wait for the n-th conversation ("main") request. */
class RequestLog<R extends RecordedRequest> {
  readonly requests: R[] = [];
  private readonly waiters: Array<{ count: number; resolve: (request: R) => void }> = [];

  get mainRequests(): R[] {
    return this.requests.filter((request) => request.kind === 'main');
  }

  record(request: R): void {
    this.requests.push(request);
    if (request.kind !== 'main') return;
    const count = this.mainRequests.length;
    for (const waiter of this.waiters.filter((candidate) => candidate.count === count)) waiter.resolve(request);
  }

  waitForMainRequest(count: number): Promise<R> {
    const arrived = this.mainRequests[count - 1];
    if (arrived) return Promise.resolve(arrived);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** Reads a request's body and hands it on: parsed JSON when it is JSON, else the raw text ('' for none). */
function readBody(req: http.IncomingMessage, onBody: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? (JSON.parse(text) as unknown) : '';
    } catch {
      // Not JSON: keep the raw text.
    }
    onBody(body);
  });
}

/** For tests of an endpoint itself: POSTs `body` as JSON. */
export const postJson = (url: string, body: object): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** For tests of an endpoint itself: the events `sendEvent` wrote, name and parsed data. */
export async function readEvents(response: Response): Promise<Array<{ event: string | undefined; data: Record<string, unknown> }>> {
  return (await response.text())
    .split('\n\n')
    .filter((chunk) => chunk !== '')
    .map((chunk) => ({ event: /^event: (.+)$/m.exec(chunk)?.[1], data: JSON.parse(/^data: (.+)$/m.exec(chunk)![1]!) as Record<string, unknown> }));
}

import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the scripted vendor endpoints (Anthropic, OpenAI, Gemini) share: body parsing, the request log, listening. */

/** A promise a test resolves by hand, for a turn's `until`. */
export function gate(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a request's body and hands it on: parsed JSON when it is JSON, else the raw text ('' for none). */
export function readBody(req: http.IncomingMessage, onBody: (body: unknown) => void): void {
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

/** Every request an endpoint saw, in order; tests wait for the n-th conversation ("main") request. */
export class RequestLog<R extends { kind: 'main' | 'side' }> {
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

/** Listens on a free loopback port; `close()` also ends held turns and keep-alive sockets, which would keep it waiting. */
export async function listenOnLoopback(server: http.Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

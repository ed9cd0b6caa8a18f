import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got, as it arrived: the raw body is what the signature covers. */
export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What to answer the `attempt`-th request (1-based) to a path; 200 unless told. */
export type Answerer = (attempt: number) => number;

/** A real HTTP server standing in for a team's webhook endpoint: it records every request and answers as each path is told. */
export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** The requests to one path, in order. */
  to(path: string): ReceivedRequest[];
  answer(path: string, answerer: Answerer): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const answerers = new Map<string, Answerer>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const attempt = requests.filter((request) => request.path === path).length;
      const status = answerers.get(path)?.(attempt) ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `refused with ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    to: (path) => requests.filter((request) => request.path === path),
    answer: (path, answerer) => answerers.set(path, answerer),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A forge stand-in: git's own smart-HTTP server (`git http-backend`, as CGI) over the bare
 * repositories under `root`, answering 401 to any request without `Authorization: Basic
 * x-access-token:<token>` (what GitHub takes). It counts the requests it let through.
 */
export interface GitHttpServer {
  url: string;
  authorized: number;
  refused: number;
  close(): Promise<void>;
}

export async function startGitHttpServer(root: string, token: string): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const state = { authorized: 0, refused: 0 };
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      state.refused += 1;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="forge"' }).end('unauthorized');
      return;
    }
    state.authorized += 1;
    const url = new URL(req.url ?? '/', 'http://forge');
    const backend = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    req.pipe(backend.stdin);
    // CGI: headers, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    backend.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [name, ...value] = line.split(':');
        if (name!.toLowerCase() === 'status') status = Number.parseInt(value.join(':').trim(), 10);
        else res.setHeader(name!, value.join(':').trim());
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    backend.stdout.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get authorized() {
      return state.authorized;
    },
    get refused() {
      return state.refused;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

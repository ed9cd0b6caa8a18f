import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureNamespace, searchAttributeArgs } from './namespace.js';

export interface DevServerOptions {
  /** Path of the Temporal CLI. */
  cli: string;
  /** Holds `temporal.db` (SQLite, WAL); runs survive restarts. */
  dataDir: string;
  ip?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; undefined runs headless. */
  uiPort?: number;
  namespace?: string;
  retentionDays?: number;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use: is another Temporal server running? Stop it, or set TEMPORAL_ADDRESS to use it`);
    this.name = 'PortInUseError';
  }
}

export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, ip, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function assertPortFree(port: number, ip: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () => reject(new PortInUseError(port)));
    server.listen(port, ip, () => server.close(() => resolve()));
  });
}

/**
 * Starts `temporal server start-dev` on a SQLite file with the ao search attributes, waits until
 * it answers, and raises the namespace retention. `stop()` ends it gracefully (SIGTERM, then SIGKILL).
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const port = options.port || (await freePort(ip));
  await assertPortFree(port, ip);
  if (options.uiPort) await assertPortFree(options.uiPort, ip);
  await fs.mkdir(options.dataDir, { recursive: true });

  const args = [
    'server', 'start-dev',
    '--db-filename', path.join(options.dataDir, 'temporal.db'),
    '--sqlite-pragma', 'journal_mode=WAL',
    '--ip', ip,
    '--port', String(port),
    '--namespace', namespace,
    '--log-level', 'error',
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...searchAttributeArgs(),
  ];
  // Its own process group: a Ctrl-C in the terminal reaches the workers first, and the server is
  // stopped last (by `stop()`), so runners can still deregister.
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`temporal server exited early (${signal ?? `code ${code}`}): ${output.trim()}`)));
    child.once('error', (error) => reject(new Error(`cannot start ${options.cli}: ${error.message}`)));
  });
  exited.catch(() => undefined);

  const address = `${ip}:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.off('exit', killOnExit);
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  try {
    await Promise.race([exited, waitUntilServing(address, namespace, options.readyTimeoutMs ?? 60_000, options.retentionDays)]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, uiUrl: options.uiPort ? `http://${ip}:${options.uiPort}` : undefined, namespace, process: child, stop };
}

async function waitUntilServing(address: string, namespace: string, timeoutMs: number, retentionDays?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await ensureNamespace(connection, namespace, retentionDays);
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`temporal server at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}`);
}

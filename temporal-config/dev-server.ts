import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeArgs } from './namespace.js';
import { spawnServer, untilReady } from './server-process.js';

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

export async function assertPortFree(port: number, ip: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () => reject(new PortInUseError(port)));
    server.listen(port, ip, () => server.close(() => resolve()));
  });
}

/**
 * As in the real server's dynamic-config.yaml: control activities (resolveRun, pickRunner) go
 * eagerly to the control worker that scheduled them, without a trip through matching. Every runner
 * long-polls its own queue: the default of 1200 concurrent polls per namespace refused polls with
 * "namespace concurrent poller limit exceeded" once 200 runner identities were online (bench:dispatch).
 */
const DEV_SERVER_DYNAMIC_CONFIG = ['system.enableActivityEagerExecution=true', 'frontend.namespaceCount=5000'];

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
    ...DEV_SERVER_DYNAMIC_CONFIG.flatMap((setting) => ['--dynamic-config-value', setting]),
  ];
  const server = spawnServer(options.cli, args);
  const address = `${ip}:${port}`;
  await untilReady(server, () => Connection.connect({ address, connectTimeout: 2_000 }), {
    address,
    namespace,
    timeoutMs: options.readyTimeoutMs ?? 60_000,
    retentionDays: options.retentionDays,
  });
  return { address, uiUrl: options.uiPort ? `http://${ip}:${options.uiPort}` : undefined, namespace, process: server.child, stop: server.stop };
}

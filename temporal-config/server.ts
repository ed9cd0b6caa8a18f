import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { connectTemporal, type TemporalSettings } from '../core/temporal/connection.js';
import { assertPortFree, freePort } from './dev-server.js';
import type { TemporalServerBinaries } from './server-binaries.js';
import {
  DEFAULT_DATABASES,
  SERVER_CONFIG_DIR,
  SERVER_CONFIG_ENV,
  SERVER_DYNAMIC_CONFIG,
  SERVER_PORT_NAMES,
  postgresTarget,
  serverEnv,
  type PostgresTarget,
  type ServerPorts,
  type ServerTls,
} from './server-config.js';
import { setupServerDatabases } from './server-schema.js';
import { spawnServer, untilReady } from './server-process.js';

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  /** PostgreSQL for persistence and visibility, `postgres://user[:password]@host[:port]`; its path is not used. */
  databaseUrl: string;
  databases?: Pick<PostgresTarget, 'database' | 'visibilityDatabase'>;
  /** Where every service listens (default 127.0.0.1). */
  ip?: string;
  /** Fixed ports, e.g. those of a previous start; missing ones are picked free. */
  ports?: Partial<ServerPorts>;
  /** mTLS on the frontend. Without it the frontend takes plaintext from anyone who reaches it. */
  tls?: ServerTls;
  namespace?: string;
  retentionDays?: number;
  logLevel?: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface TemporalServer {
  /** The frontend's gRPC address. */
  address: string;
  namespace: string;
  ports: ServerPorts;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the real Temporal server (`temporal-server start`, every service in one process) on
 * PostgreSQL: creates or upgrades its databases, fills `server.yaml` from the options, waits until
 * the frontend answers, and makes the namespace ready for ao (search attributes, retention).
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const log = options.log ?? ((line: string) => console.error(line));
  const ports = await resolvePorts(ip, options.ports ?? {});
  const postgres = postgresTarget(options.databaseUrl, options.databases ?? DEFAULT_DATABASES);
  // Read first: a missing certificate fails here, with its path, not deep in the server's log.
  const launcher = await launcherSettings(`${ip}:${ports.frontend}`, namespace, options.tls);
  await setupServerDatabases(options.binaries.sqlTool, postgres, log);

  const env = serverEnv({ bindIp: ip, ports, postgres, tls: options.tls, logLevel: options.logLevel ?? 'warn', dynamicConfig: SERVER_DYNAMIC_CONFIG });
  // No authorizer: with mTLS, holding a certificate the CA signed is what admits a client.
  const args = ['--root', '/', '--config', SERVER_CONFIG_DIR, '--env', SERVER_CONFIG_ENV, '--allow-no-auth', 'start'];
  const server = spawnServer(options.binaries.server, args, { ...process.env, ...env });
  const address = launcher.address;
  await untilReady(server, () => connectTemporal(launcher), {
    address,
    namespace,
    timeoutMs: options.readyTimeoutMs ?? 90_000,
    retentionDays: options.retentionDays,
  });
  return { address, namespace, ports, process: server.child, stop: server.stop };
}

/** The launcher registers the namespace with the server's own client certificate: it acts as the server's operator. */
async function launcherSettings(address: string, namespace: string, tls: ServerTls | undefined): Promise<TemporalSettings> {
  if (!tls) return { address, namespace };
  const [crt, key, ca] = await Promise.all([tls.workerCert, tls.workerKey, tls.ca].map((file) => fs.readFile(file)));
  return { address, namespace, tls: { clientCertPair: { crt: crt!, key: key! }, serverRootCACertificate: ca!, serverNameOverride: tls.serverName } };
}

/** Membership ports are kept in a `smallint` column of the cluster's database: they must stay below 32768. */
const MEMBERSHIP_PORTS = { min: 20_000, max: 32_767 };
const isMembershipPort = (name: keyof ServerPorts): boolean => name.endsWith('Membership');

async function resolvePorts(ip: string, fixed: Partial<ServerPorts>): Promise<ServerPorts> {
  const ports: Partial<ServerPorts> = {};
  for (const name of SERVER_PORT_NAMES) {
    const port = fixed[name];
    if (port) await assertPortFree(port, ip);
    ports[name] = port || (isMembershipPort(name) ? await freePortIn(MEMBERSHIP_PORTS, ip, Object.values(ports)) : await freePort(ip));
  }
  return ports as ServerPorts;
}

/** A free port in `range`, which lies below the system's own choices (the ephemeral range). */
async function freePortIn(range: { min: number; max: number }, ip: string, taken: number[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = range.min + Math.floor(Math.random() * (range.max - range.min));
    if (taken.includes(port)) continue;
    const free = await assertPortFree(port, ip).then(() => true, () => false);
    if (free) return port;
  }
  throw new Error(`no free port between ${range.min} and ${range.max} on ${ip}`);
}

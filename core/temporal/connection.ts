import fs from 'node:fs';
import { z } from 'zod';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';

/**
 * Where Temporal is and how to reach it, read from the environment once per process.
 * Unset `TEMPORAL_ADDRESS` means the local dev server that `npm start` launches.
 */
export const TemporalEnv = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Paths of a client certificate and key for mTLS. */
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  /** Path of a CA bundle that signs the server's certificate. */
  TEMPORAL_TLS_CA: z.string().optional(),
  /** The name the server's certificate carries, when the address does not say it (an IP address, a load balancer). */
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** "true" turns on TLS with the system's CAs (implied by a certificate or an API key). */
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_API_KEY: z.string().optional(),
});
export type TemporalEnv = z.infer<typeof TemporalEnv>;

export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer; serverNameOverride?: string };
  apiKey?: string;
}

export function temporalSettingsFromEnv(env: TemporalEnv): TemporalSettings {
  const wantsTls = env.TEMPORAL_TLS === 'true' || Boolean(env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS_SERVER_NAME || env.TEMPORAL_API_KEY);
  const settings: TemporalSettings = { address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE };
  if (wantsTls && env.TEMPORAL_TLS !== 'false') {
    settings.tls = {
      ...(env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY
        ? { clientCertPair: { crt: fs.readFileSync(env.TEMPORAL_TLS_CERT), key: fs.readFileSync(env.TEMPORAL_TLS_KEY) } }
        : {}),
      ...(env.TEMPORAL_TLS_CA ? { serverRootCACertificate: fs.readFileSync(env.TEMPORAL_TLS_CA) } : {}),
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  }
  if (env.TEMPORAL_API_KEY) settings.apiKey = env.TEMPORAL_API_KEY;
  return settings;
}

function connectionOptions(settings: TemporalSettings): ConnectionOptions & NativeConnectionOptions {
  return {
    address: settings.address,
    ...(settings.tls ? { tls: settings.tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
}

export async function connectTemporal(settings: TemporalSettings): Promise<Connection> {
  return Connection.connect(connectionOptions(settings));
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  return new Client({ connection: await connectTemporal(settings), namespace: settings.namespace });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}

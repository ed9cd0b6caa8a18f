import fs from 'node:fs';
import { z } from 'zod';
import { Client, Connection, type ClientInterceptors, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { AesGcmPayloadCodec, parsePayloadKey, type PayloadKey } from './payload-codec.js';

/** `<id>:<base64>` keys, comma-separated: parsed at start, with the problem named. */
const PayloadKeys = z.string().transform((value, context): PayloadKey[] => {
  try {
    return value.split(',').map((entry) => entry.trim()).filter(Boolean).map(parsePayloadKey);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

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
  /** Encrypts Temporal payloads with this key, `<id>:<base64 of 32 bytes>` (and decrypts what it encrypted). */
  AO_PAYLOAD_KEY: PayloadKeys.refine((keys) => keys.length === 1, 'AO_PAYLOAD_KEY is one key; older ones go in AO_PAYLOAD_DECRYPT_KEYS').optional(),
  /** More keys to decrypt with, comma-separated: older ones after a rotation, or a new one being rolled out. */
  AO_PAYLOAD_DECRYPT_KEYS: PayloadKeys.optional(),
});
export type TemporalEnv = z.infer<typeof TemporalEnv>;

export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer; serverNameOverride?: string };
  apiKey?: string;
  /** Set with AO_PAYLOAD_KEY (or AO_PAYLOAD_DECRYPT_KEYS): every client and worker ao creates uses it. */
  payloadCodec?: PayloadCodec;
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
  if (env.AO_PAYLOAD_KEY || env.AO_PAYLOAD_DECRYPT_KEYS) settings.payloadCodec = new AesGcmPayloadCodec(env.AO_PAYLOAD_KEY?.[0], env.AO_PAYLOAD_DECRYPT_KEYS);
  return settings;
}

/** The data converter of every client and worker ao creates: with the payload codec when there is one. */
export function dataConverterOptions(settings: TemporalSettings): { dataConverter?: DataConverter } {
  return settings.payloadCodec ? { dataConverter: { payloadCodecs: [settings.payloadCodec] } } : {};
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

/** `interceptors`: the tracing ones (core/observability/temporal-tracing.ts), which carry a caller's span into what it starts. */
export async function connectClient(settings: TemporalSettings, options: { interceptors?: ClientInterceptors } = {}): Promise<Client> {
  return new Client({
    connection: await connectTemporal(settings),
    namespace: settings.namespace,
    ...dataConverterOptions(settings),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
  });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}

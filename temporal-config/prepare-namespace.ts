import { z } from 'zod';
import { parseEnv } from '../core/config/env.js';
import { TemporalEnv, connectTemporal, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { DEFAULT_RETENTION_DAYS, ensureNamespace } from './namespace.js';

const PrepareEnv = TemporalEnv.extend({
  /** How long Temporal keeps a finished run's history. */
  AO_RETENTION_DAYS: z.coerce.number().int().positive().default(DEFAULT_RETENTION_DAYS),
});

/**
 * `npm run temporal:prepare-namespace`: makes TEMPORAL_NAMESPACE on the server at TEMPORAL_ADDRESS
 * ready for ao (created if missing, ao's search attributes, retention). Safe to run on every deploy;
 * docker-compose.yml runs it once the server is healthy.
 */
async function main(): Promise<void> {
  const env = parseEnv(PrepareEnv, process.env, 'temporal:prepare-namespace');
  const settings = temporalSettingsFromEnv(env);
  const connection = await connectTemporal(settings);
  try {
    await ensureNamespace(connection, settings.namespace, env.AO_RETENTION_DAYS);
    console.log(`namespace ${settings.namespace} on ${settings.address} is ready for ao (retention ${env.AO_RETENTION_DAYS} days)`);
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(`temporal:prepare-namespace: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

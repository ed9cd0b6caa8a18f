import path from 'node:path';
import { z } from 'zod';
import { InvalidEnvironmentError, parseEnv } from '../core/config/env.js';
import { defaultConfigDir, defaultDataDir, defaultProfilesDir } from '../core/config/paths.js';
import { ensurePrivateDir } from '../core/config/private-files.js';
import { redactProcessOutput } from '../core/process/redacted-output.js';
import { LogEnv, createLogger, resolveLogFormat, type Logger } from '../core/observability/logger.js';
import { createApiMetrics } from '../core/observability/metrics.js';
import { clientTracingInterceptors } from '../core/observability/temporal-tracing.js';
import { TracingEnv, startTracing } from '../core/observability/tracing.js';
import { TemporalEnv, connectClient, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { AgentsService } from './agents-service.js';
import { FlowsService } from './flows-service.js';
import { NotificationsService } from './notifications-service.js';
import { createApp } from './app.js';
import { ConfigLock } from './config-lock.js';
import { EventAdmission } from './event-admission.js';
import { FileEventStore } from './event-store.js';
import { FleetService } from './fleet-service.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { AuditLog } from './audit-log.js';
import { resolveApiToken } from './auth.js';
import { CredentialStore } from './credentials.js';
import { RunCredentials } from './run-credentials.js';
import { DEFAULT_CHILD_LIMITS, RunsService } from './runs-service.js';
import { ScriptsService } from './scripts-service.js';
import { SchedulesService } from './schedules-service.js';
import { TriggersService } from './triggers-service.js';
import { TriggerDeliveries } from './trigger-deliveries.js';
import { UsageService } from './usage-service.js';

const ApiEnv = TemporalEnv.extend(LogEnv.shape).extend(TracingEnv.shape).extend({
  AO_API_HOST: z.string().min(1).default('127.0.0.1'),
  AO_API_PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  /** Bearer token for every route; unset: generated once into the data dir. */
  AO_API_TOKEN: z.string().min(16, 'AO_API_TOKEN must be at least 16 characters').optional(),
  AO_DATA_DIR: z.string().min(1).default(defaultDataDir),
  AO_CONFIG_DIR: z.string().min(1).default(defaultConfigDir),
  AO_PROFILES_DIR: z.string().min(1).default(defaultProfilesDir),
  AO_TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  /** How long a run waits for a matching runner before it fails. */
  AO_NO_RUNNER_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(300),
  /** How long a picked runner has to take the run before another is picked. */
  AO_DISPATCH_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(30),
  /**
   * How long a runner may be offline before `GET /runners` leaves it out (`?all=true` still shows it);
   * 0 keeps offline runners listed. An admin forgets one for good with `DELETE /runners/:id`.
   */
  AO_RUNNER_FORGET_AFTER_SECONDS: z.coerce.number().int().min(0).default(24 * 3600),
  /** How many levels of child runs a tree may have (a child of a top-level run is level 1). */
  AO_MAX_CHILD_DEPTH: z.coerce.number().int().positive().default(DEFAULT_CHILD_LIMITS.max_depth),
  /** How many child runs one run may start. */
  AO_MAX_CHILDREN_PER_RUN: z.coerce.number().int().positive().default(DEFAULT_CHILD_LIMITS.max_children),
  /** PostgreSQL for run events (several API processes can share it); unset: files under the data dir. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL').optional(),
});

// First of all: nothing this process prints shows a secret.
redactProcessOutput();
/** Set once the environment is read; errors before that are printed plainly. */
let logger: Logger | undefined;

async function main(): Promise<void> {
  const env = parseEnv(ApiEnv, process.env, 'the api');
  const log = createLogger({ name: 'api', format: resolveLogFormat(env.AO_LOG_FORMAT) });
  logger = log;
  const temporal = temporalSettingsFromEnv(env);
  // Before the client: its interceptor carries each request's span into the workflows it starts.
  const tracing = startTracing({ serviceName: 'ao-api', env });
  const metrics = createApiMetrics();
  const client = await connectClient(temporal, { interceptors: clientTracingInterceptors() });
  const runs = new RunsService({
    metrics,
    client,
    configDir: env.AO_CONFIG_DIR,
    namespace: temporal.namespace,
    temporalUiUrl: env.AO_TEMPORAL_UI_URL.replace(/\/$/, ''),
    noRunnerTimeoutSeconds: env.AO_NO_RUNNER_TIMEOUT_SECONDS,
    dispatchTimeoutSeconds: env.AO_DISPATCH_TIMEOUT_SECONDS,
    childLimits: { max_depth: env.AO_MAX_CHILD_DEPTH, max_children: env.AO_MAX_CHILDREN_PER_RUN },
  });
  const schedules = new SchedulesService({ client, runs, namespace: temporal.namespace, temporalUiUrl: env.AO_TEMPORAL_UI_URL.replace(/\/$/, '') });
  const fleet = new FleetService(client, env.AO_PROFILES_DIR, {
    ...(env.AO_RUNNER_FORGET_AFTER_SECONDS > 0 ? { forgetAfterSeconds: env.AO_RUNNER_FORGET_AFTER_SECONDS } : {}),
  });
  const configLock = new ConfigLock();
  const agents = new AgentsService(env.AO_CONFIG_DIR, configLock);
  const flows = new FlowsService({ client, configDir: env.AO_CONFIG_DIR, lock: configLock, temporalUiUrl: (workflowId, runId) => runs.temporalUiUrl(workflowId, runId) });
  const notifications = new NotificationsService(client, env.AO_CONFIG_DIR, configLock);
  const scripts = new ScriptsService(client, env.AO_CONFIG_DIR, configLock, (message) => log.error(message));
  const triggers = new TriggersService(env.AO_CONFIG_DIR, configLock, runs, TriggerDeliveries.inDataDir(env.AO_DATA_DIR));
  // The data dir holds the token and the events: its owner's only.
  await ensurePrivateDir(env.AO_DATA_DIR);
  const events = env.DATABASE_URL ? await PostgresEventStore.connect(env.DATABASE_URL, (message) => log.error(message)) : new FileEventStore(path.join(env.AO_DATA_DIR, 'events'));
  const credentials = CredentialStore.inDataDir(env.AO_DATA_DIR, resolveApiToken(env.AO_API_TOKEN, env.AO_DATA_DIR));
  const mcp = { runCredentials: RunCredentials.inDataDir(env.AO_DATA_DIR), configDir: env.AO_CONFIG_DIR };
  const app = createApp({ runs, fleet, agents, flows, scripts, notifications, schedules, triggers, events, usage: new UsageService(client), credentials, mcp, admission: new EventAdmission(client), audit: AuditLog.inDataDir(env.AO_DATA_DIR),
    ...(temporal.payloadCodec ? { codec: { codec: temporal.payloadCodec, uiOrigin: new URL(env.AO_TEMPORAL_UI_URL).origin } } : {}),
    metrics,
    tracer: tracing.tracer,
    log: (message) => log.error(message),
  });
  const server = app.listen(env.AO_API_PORT, env.AO_API_HOST, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : env.AO_API_PORT;
    log.info(`api listening on http://${env.AO_API_HOST}:${port}`);
  });

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }).then(async () => {
      await client.connection.close().catch(() => undefined);
      if (events instanceof PostgresEventStore) await events.close();
      await tracing.shutdown().catch(() => undefined);
      log.info('api stopped');
    }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown());
}

main().catch((error: unknown) => {
  const message = `api: ${error instanceof InvalidEnvironmentError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  if (logger) logger.error(message);
  else console.error(message);
  process.exit(1);
});

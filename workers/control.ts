import { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { createConcurrencyActivities } from '../activities/concurrency.js';
import { createControlActivities } from '../activities/control.js';
import { FleetView, fleetViewSinks } from '../activities/fleet-view.js';
import { createNotificationActivities } from '../activities/notifications.js';
import { createFlowControlActivities } from '../activities/flow-control.js';
import { InvalidEnvironmentError, parseEnv } from '../core/config/env.js';
import { defaultConfigDir } from '../core/config/paths.js';
import { LogEnv, createLogger, resolveLogFormat, type Logger } from '../core/observability/logger.js';
import { installTemporalRuntime } from '../core/observability/temporal-runtime.js';
import { clientTracingInterceptors, workerTracingInterceptors, workflowSpanSinks } from '../core/observability/temporal-tracing.js';
import { TracingEnv, startTracing } from '../core/observability/tracing.js';
import { redactProcessOutput } from '../core/process/redacted-output.js';
import { TemporalEnv, connectClient, connectWorker, dataConverterOptions, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { CONTROL_TASK_QUEUE, FLEET_TASK_QUEUE } from '../workflows/messages.js';
import { buildWorkflowBundle } from './workflow-bundle.js';

const ControlEnv = TemporalEnv.extend(LogEnv.shape).extend(TracingEnv.shape).extend({
  AO_CONFIG_DIR: z.string().min(1).default(defaultConfigDir),
  /** A prebuilt workflow bundle (see workers/workflow-bundle.ts); unset bundles at start. */
  AO_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  /** `host:port` where the Temporal SDK serves its Prometheus metrics; unset: none. */
  AO_CONTROL_TEMPORAL_METRICS_ADDRESS: z.string().regex(/^(\[[0-9a-f:]+\]|[^:\s]+):\d{1,5}$/i, 'AO_CONTROL_TEMPORAL_METRICS_ADDRESS is host:port').optional(),
});

// First of all: nothing this process prints shows a secret.
redactProcessOutput();
/** Set once the environment is read; errors before that are printed plainly. */
let logger: Logger | undefined;

/**
 * The control worker: runs every workflow and the control activities (config, matching), with the
 * runner workflows on a worker of their own (FLEET_TASK_QUEUE says why).
 */
async function main(): Promise<void> {
  const env = parseEnv(ControlEnv, process.env, 'the control worker');
  const log = createLogger({ name: 'control', format: resolveLogFormat(env.AO_LOG_FORMAT) });
  logger = log;
  const temporal = temporalSettingsFromEnv(env);
  // Before any client or worker: the workflow and activity spans go to what this sets up.
  const tracing = startTracing({ serviceName: 'ao-control', env });
  installTemporalRuntime({ logger: log, ...(env.AO_CONTROL_TEMPORAL_METRICS_ADDRESS ? { metricsAddress: env.AO_CONTROL_TEMPORAL_METRICS_ADDRESS } : {}) });
  const client = await connectClient(temporal, { interceptors: clientTracingInterceptors() });
  // One bundle for both workers; either way it has the tracing workflow interceptors (workers/workflow-bundle.ts).
  const workflowBundle = env.AO_WORKFLOW_BUNDLE ? { codePath: env.AO_WORKFLOW_BUNDLE } : { code: await buildWorkflowBundle() };
  const connection = await connectWorker(temporal);
  const fleetView = new FleetView(client);
  const sinks = { ...workflowSpanSinks(tracing), ...fleetViewSinks(fleetView) };
  const common = { connection, namespace: temporal.namespace, ...dataConverterOptions(temporal), workflowBundle, interceptors: workerTracingInterceptors(), sinks };
  const worker = await Worker.create({
    ...common,
    taskQueue: CONTROL_TASK_QUEUE,
    activities: { ...createControlActivities({ client, configDir: env.AO_CONFIG_DIR, fleet: fleetView }), ...createConcurrencyActivities({ client }), ...createNotificationActivities({ configDir: env.AO_CONFIG_DIR }), ...createFlowControlActivities({ client }) },
  });
  // Workflows only: what runner workflows schedule runs on the runner's queue or on the control queue.
  const fleet = await Worker.create({ ...common, taskQueue: FLEET_TASK_QUEUE });
  log.info(`control worker polling ${CONTROL_TASK_QUEUE} and ${FLEET_TASK_QUEUE} on ${temporal.address} (namespace ${temporal.namespace})`);
  if (env.AO_CONTROL_TEMPORAL_METRICS_ADDRESS) log.info(`control worker: Temporal SDK metrics on http://${env.AO_CONTROL_TEMPORAL_METRICS_ADDRESS}/metrics`);
  // Runtime's default shutdown signals (SIGINT, SIGTERM) make run() resolve after draining.
  await Promise.all([worker.run(), fleet.run()]);
  await client.connection.close();
  await tracing.shutdown().catch(() => undefined);
  log.info('control worker stopped');
}

main().catch((error: unknown) => {
  const message = `control worker: ${error instanceof InvalidEnvironmentError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  if (logger) logger.error(message);
  else console.error(message);
  process.exit(1);
});

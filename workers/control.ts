import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { z } from 'zod';
import { createControlActivities } from '../activities/control.js';
import { InvalidEnvironmentError, parseEnv } from '../core/config/env.js';
import { defaultConfigDir } from '../core/config/paths.js';
import { redactProcessOutput } from '../core/process/redacted-output.js';
import { TemporalEnv, connectClient, connectWorker, dataConverterOptions, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { CONTROL_TASK_QUEUE } from '../workflows/messages.js';
import { workflowSource } from './workflow-bundle.js';

const ControlEnv = TemporalEnv.extend({
  AO_CONFIG_DIR: z.string().min(1).default(defaultConfigDir),
  /** A prebuilt workflow bundle (see workers/workflow-bundle.ts); unset bundles at start. */
  AO_WORKFLOW_BUNDLE: z.string().min(1).optional(),
});

// First of all: nothing this process prints shows a secret.
redactProcessOutput();

/** The control worker: runs every workflow and the control activities (config, matching). */
async function main(): Promise<void> {
  const env = parseEnv(ControlEnv, process.env, 'the control worker');
  const temporal = temporalSettingsFromEnv(env);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const client = await connectClient(temporal);
  const worker = await Worker.create({
    connection: await connectWorker(temporal),
    namespace: temporal.namespace,
    ...dataConverterOptions(temporal),
    taskQueue: CONTROL_TASK_QUEUE,
    ...workflowSource(env.AO_WORKFLOW_BUNDLE),
    activities: createControlActivities({ client, configDir: env.AO_CONFIG_DIR }),
  });
  console.log(`control worker polling ${CONTROL_TASK_QUEUE} on ${temporal.address} (namespace ${temporal.namespace})`);
  // Runtime's default shutdown signals (SIGINT, SIGTERM) make run() resolve after draining.
  await worker.run();
  await client.connection.close();
  console.log('control worker stopped');
}

main().catch((error: unknown) => {
  console.error(`control worker: ${error instanceof InvalidEnvironmentError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});

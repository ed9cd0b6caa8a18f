import crypto from 'node:crypto';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { setUpContainment } from '../activities/containment/containment.js';
import { resolveExecutorUser } from '../activities/containment/executor-user.js';
import { EventSpool } from '../activities/events/event-spool.js';
import type { HookSettings } from '../activities/hooks.js';
import { createRunnerLog } from '../activities/runner-log.js';
import { adapterFor } from '../activities/executors/catalog.js';
import { watchTemporalContact } from '../activities/execution/temporal-contact.js';
import { createRunnerActivities } from '../activities/runner.js';
import { createFlowRunnerActivities } from '../activities/flow-runner.js';
import { createScriptActivities } from '../activities/scripts.js';
import { pruneStaleWorktrees } from '../activities/workspace.js';
import { isGitRepository } from '../activities/git.js';
import { parseEnv } from '../core/config/env.js';
import { listProfiles, loadProfile } from '../core/config/profiles.js';
import { redactProcessOutput } from '../core/process/redacted-output.js';
import { createLogger, resolveLogFormat, type Logger } from '../core/observability/logger.js';
import { createRunnerMetrics } from '../core/observability/metrics.js';
import { serveMetrics, type MetricsServer } from '../core/observability/metrics-server.js';
import { hostPort, installTemporalRuntime } from '../core/observability/temporal-runtime.js';
import { clientTracingInterceptors, workerTracingInterceptors } from '../core/observability/temporal-tracing.js';
import { TracingEnv, startTracing } from '../core/observability/tracing.js';
import type { RunnerRegistration } from '../core/contract/fleet.js';
import { TemporalEnv, connectClient, connectWorker, dataConverterOptions, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { runnerDetails, runnerSummary } from '../core/temporal/summaries.js';
import {
  FLEET_TASK_QUEUE,
  RUNNER_WORKFLOW_TYPE,
  deregisterRunnerSignal,
  drainRunnerSignal,
  registerRunnerSignal,
  runnerStateQuery,
  runnerTaskQueue,
  runWorkflowId,
  runnerWorkflowId,
  type RunnerState,
} from '../workflows/messages.js';
import { runHasEnded } from '../core/temporal/run-state.js';
import { assertIdentityFree } from './runner-identity.js';
import { startHealthChecks } from './runner-health.js';
import { RUNNER_HELP, currentHostname, parseRunnerOptions, runnerIdFor, type RunnerOptions } from './runner-options.js';
import { RunnerCredentialError, runnerCredentialName } from './runner-credential.js';

/** How often the runner checks that the fleet still sees it online (re-registers after a network split). */
const PRESENCE_CHECK_MS = 15_000;

async function printProfiles(options: RunnerOptions): Promise<void> {
  for (const entry of await listProfiles(options.profilesDir)) {
    if ('error' in entry) console.log(`${entry.name.padEnd(14)} INVALID   ${entry.error}`);
    else console.log(`${entry.name.padEnd(14)} ${entry.profile.type.padEnd(11)} ${entry.profile.description ?? ''}`);
  }
}

// First of all: nothing this process prints shows a secret.
const redactor = redactProcessOutput();
/** Set once the options are read; errors before that are printed plainly. */
let logger: Logger | undefined;

async function main(): Promise<void> {
  const options = parseRunnerOptions(process.argv.slice(2), process.env);
  if (options.help) return void console.log(RUNNER_HELP);
  if (options.profileList) return printProfiles(options);

  const hostname = currentHostname();
  const runnerId = runnerIdFor(hostname, options.projectDir, options.profile);
  const format = resolveLogFormat(options.logFormat);
  const runnerLogger = createLogger({ name: 'runner', format, fields: { runner_id: runnerId } });
  logger = runnerLogger;
  const log = createRunnerLog({ tty: process.stdout.isTTY === true, level: options.logLevel, ...(format === 'json' ? { json: runnerLogger } : {}) });
  // Before any Temporal client exists: its interceptor carries the workflow's trace into this runner's activities.
  const tracing = startTracing({ serviceName: 'ao-runner', env: parseEnv(TracingEnv, process.env, 'the runner') });
  const { profile } = await loadProfile(options.profilesDir, options.profile);
  const profileHooks = typeof profile.lifecycle?.hooks_dir === 'string' ? path.resolve(options.profilesDir, profile.lifecycle.hooks_dir) : undefined;
  const hooks: HookSettings = {
    dirs: [options.hooksDir, profileHooks].filter((dir): dir is string => dir !== undefined),
    timeoutMs: options.hookTimeout * 1000,
  };
  const temporal = temporalSettingsFromEnv(parseEnv(TemporalEnv, process.env, 'the runner'));
  const registration: RunnerRegistration = {
    runner_id: runnerId,
    hostname,
    project_dir: options.projectDir,
    executor_profile: options.profile,
    executor: { type: profile.type, ...(profile.command ? { command: profile.command } : {}), config: profile.config },
    tags: options.tags,
    require_matching_tags: options.requireMatchingTags,
    capacity: options.capacity,
    instance: { id: crypto.randomUUID(), pid: process.pid, started_at: new Date().toISOString() },
  };

  // Capacity above 1 with project-mode runs: said at start and in the registration, not discovered in a queue.
  const defaultMode = profile.config.workspace_mode ?? ((await isGitRepository(options.projectDir)) ? 'worktree' : 'project');
  if (defaultMode === 'project' && options.capacity > 1) {
    registration.project_mode_one_at_a_time = true;
    log.info(
      `note: capacity ${options.capacity}, but runs in project mode (${profile.config.workspace_mode ? 'the profile says so' : `${options.projectDir} is not a git repository`}) take the project's lock one at a time; agents with workspace_mode worktree or temp run side by side`,
    );
  }

  // Before anything is started: a root runner without its executor user refuses to run.
  const executorUser = await resolveExecutorUser(options.executorUser);
  if (executorUser) registration.executor_user = executorUser.name;
  log.info(
    executorUser
      ? `executors run as ${executorUser.name} (uid ${executorUser.uid}), home ${executorUser.home}`
      : process.getuid?.() === 0
        ? 'executors run as root (--executor-user root): they can read everything this runner can'
        : `executors run as this runner's user (uid ${process.getuid?.()}): see SECURITY.md for what that leaves open`,
  );
  const dataDir = options.dataDir ?? path.join(options.projectDir, '.ao');

  const adapter = adapterFor(profile.type);
  const command = profile.command ?? adapter.defaultCommand();
  if (adapter.detect && command) log.info(`executor ${profile.type}: ${(await adapter.detect(command)).version}`);
  log.verbose(`executor capabilities: ${JSON.stringify(adapter.capabilities)}`);

  installTemporalRuntime({
    logger: runnerLogger,
    shutdownSignals: [],
    ...(options.temporalMetricsPort ? { metricsAddress: hostPort(options.metricsHost, options.temporalMetricsPort) } : {}),
  });
  const client = await connectClient(temporal, { interceptors: clientTracingInterceptors() });
  await assertIdentityFree(client, runnerId, hostname);
  // Only now that this process holds the identity may it end what an earlier instance left running.
  const containment = setUpContainment({ runnerId, mode: options.containment, log: (message) => log.error(message) });
  registration.containment = containment.info;
  log.info(`containment: ${containment.info.kind}${containment.info.cgroup ? ` in ${containment.info.cgroup}` : ` (${containment.info.reason})`}`);
  const leftovers = await containment.endLeftovers();
  if (leftovers) log.info(`ended ${leftovers} leftover(s) of runs an earlier instance of this runner started`);
  const apiUrl = options.apiUrl?.replace(/\/$/, '');
  // The API files this runner's events under its credential's name; learnt now, or later if the API is down.
  const learnCredential = async (): Promise<void> => {
    if (!apiUrl || !options.apiToken || registration.credential) return;
    registration.credential = await runnerCredentialName(apiUrl, options.apiToken);
  };
  await learnCredential().catch((error: unknown) => {
    if (error instanceof RunnerCredentialError) throw error;
    log.error(`could not ask the API who this runner is (${(error as Error).message}); events wait in the spool until it answers`);
  });

  const shutdownController = new AbortController();
  const events = new EventSpool({
    spoolFile: path.join(dataDir, 'spool', `${runnerId}.jsonl`),
    ...(options.apiUrl ? { apiUrl: options.apiUrl.replace(/\/$/, '') } : {}),
    ...(options.apiToken ? { apiToken: options.apiToken } : {}),
    instanceId: registration.instance.id,
    redactor,
    log: (message) => log.error(message),
  });
  events.start();
  const metrics = createRunnerMetrics(runnerId, { spoolDepth: () => events.depth(), capacity: options.capacity });
  const metricsServer: MetricsServer | undefined =
    options.metricsPort === undefined ? undefined : await serveMetrics(metrics.registry, options.metricsHost, options.metricsPort);
  if (metricsServer) log.announce(`runner ${runnerId}: metrics on ${metricsServer.url}`);
  if (options.temporalMetricsPort) log.announce(`runner ${runnerId}: Temporal SDK metrics on http://${hostPort(options.metricsHost, options.temporalMetricsPort)}/metrics`);
  const pruned = await pruneStaleWorktrees(options.projectDir, (runId) => runHasEnded(client, runWorkflowId(runId)));
  if (pruned.length) log.info(`pruned ${pruned.length} worktree(s) of finished runs; their branches stay`);
  const workerConnection = await connectWorker(temporal);
  const contact = watchTemporalContact(workerConnection);
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: temporal.namespace,
    ...dataConverterOptions(temporal),
    taskQueue: runnerTaskQueue(runnerId),
    activities: {
      ...createRunnerActivities({ client, registration, profile, containment, ...(executorUser ? { executorUser } : {}), ...(apiUrl && options.apiToken ? { agentApi: { url: apiUrl, token: options.apiToken } } : {}), dataDir, forge: { remote: options.forgeRemote, ...(options.forgeToken ? { token: options.forgeToken } : {}) }, redactor, contact, events, hooks, log, metrics, shutdownSignal: shutdownController.signal }),
      ...createFlowRunnerActivities({ projectDir: options.projectDir, forge: { remote: options.forgeRemote, ...(options.forgeToken ? { token: options.forgeToken } : {}) } }),
      ...createScriptActivities({
        dataDir,
        ...(options.apiUrl ? { apiUrl: options.apiUrl.replace(/\/$/, '') } : {}),
        ...(options.apiToken ? { apiToken: options.apiToken } : {}),
        log: (message) => log.info(message),
        metrics,
      }),
    },
    interceptors: workerTracingInterceptors(),
    // One slot per run, plus the presence activity that is always held (two across a continue-as-new) and a script sync.
    maxConcurrentActivityTaskExecutions: options.capacity + 3,
    shutdownGraceTime: `${options.drainSeconds} seconds`,
    // Cancellation (a stop) reaches an activity with a heartbeat reply: heartbeat often so stops are quick.
    maxHeartbeatThrottleInterval: '1 second',
    identity: `${process.pid}@${hostname}/${runnerId}`,
  });
  const running = worker.run();

  const handle = client.workflow.getHandle(runnerWorkflowId(runnerId));
  const register = (): Promise<unknown> =>
    client.workflow.signalWithStart(RUNNER_WORKFLOW_TYPE, {
      workflowId: runnerWorkflowId(runnerId),
      taskQueue: FLEET_TASK_QUEUE,
      args: [],
      signal: registerRunnerSignal,
      signalArgs: [registration],
      // Shown in the Temporal UI when this start creates the workflow (an existing one keeps its own).
      staticSummary: runnerSummary(registration),
      staticDetails: runnerDetails(registration),
    });
  let stopping: Promise<void> | undefined;
  // Started after registration; the shutdown below may run before that.
  const background: { health?: { stop(): void } } = {};
  const presenceCheck = setInterval(() => {
    const known = Boolean(registration.credential);
    handle
      .query(runnerStateQuery)
      .then(async (state: RunnerState) => {
        await learnCredential().catch(() => undefined);
        if (stopping) return;
        if (!state.online || (!known && registration.credential)) await register();
      })
      .catch(() => undefined);
  }, PRESENCE_CHECK_MS);

  const shutdown = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      log.announce(`runner ${runnerId}: ${signal} received, draining (up to ${options.drainSeconds}s for running runs)`);
      clearInterval(presenceCheck);
      background.health?.stop();
      try {
        await handle.signal(drainRunnerSignal, { instance_id: registration.instance.id });
      } catch (error) {
        log.error(`could not announce draining: ${(error as Error).message}`);
      }
      shutdownController.abort();
      worker.shutdown();
      await running.catch((error: unknown) => log.error(`worker stopped with an error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
      // Every run has ended by now: the watchdog has nothing left to guard.
      containment.close();
      contact.stop();
      try {
        await handle.signal(deregisterRunnerSignal, { instance_id: registration.instance.id });
      } catch (error) {
        log.error(`could not deregister (the fleet will see this runner stop heartbeating): ${(error as Error).message}`);
      }
      await events.close();
      await client.connection.close().catch(() => undefined);
      await metricsServer?.close();
      await tracing.shutdown().catch(() => undefined);
      log.announce(`runner ${runnerId}: stopped`);
    })());
  // Handlers go in before anything is announced: without one, a SIGTERM would kill the process outright.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(signal));

  await register();
  background.health = startHealthChecks({ client, registration, hooks, intervalMs: options.healthInterval * 1000, log });
  log.announce(
    `runner ${runnerId} registered: profile ${options.profile} (${profile.type}), tags [${options.tags.join(', ')}], ` +
      `capacity ${options.capacity}, project ${options.projectDir}, queue ${runnerTaskQueue(runnerId)}`,
  );
  await running;
  await shutdown('worker exit');
}

main().catch((error: unknown) => {
  const message = `runner: ${error instanceof Error ? error.message : String(error)}`;
  if (logger) logger.error(message);
  else console.error(message);
  process.exit(1);
});

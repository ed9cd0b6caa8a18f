import { CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ExecutionResult } from '../core/contract/workflow-io.js';
import type { ExecutorProfile } from '../core/contract/executor-profile.js';
import type { PresenceHeartbeat, RunnerRegistration } from '../core/contract/fleet.js';
import type { Redactor } from '../core/contract/secrets.js';
import type { Containment } from './containment/containment.js';
import type { ExecutorUser } from './containment/executor-user.js';
import type { TemporalContact } from './execution/temporal-contact.js';
import type { EventSpool } from './events/event-spool.js';
import type { HookSettings } from './hooks.js';
import type { RunnerLog } from './runner-log.js';
import type { RunnerMetrics } from '../core/observability/metrics.js';
import type { RunnerCommand, RunnerCommandReply } from '../core/contract/runner-commands.js';
import { LiveExecutions } from './execution/live-executions.js';
import { executeRun, type ExecuteRequest } from './execute-run.js';
import { releaseSlotSignal, runnerWorkflowId } from '../workflows/messages.js';
import type { ForgeAccess } from './forge.js';
import type { AgentApi } from './execution/run-credential.js';

export type { ExecuteRequest } from './execute-run.js';

export interface RunnerDependencies {
  client: Client;
  registration: RunnerRegistration;
  /** The profile the runner was started with, its config parsed by its type's schema. */
  profile: ExecutorProfile;
  /** Grace between SIGTERM and SIGKILL when a run is stopped. */
  killGraceMs?: number;
  /** How the runner holds its runs' processes. */
  containment: Containment;
  /** The unprivileged user executors run as, if not the runner's own. */
  executorUser?: ExecutorUser;
  /** The runner's own folder (spool, state). */
  dataDir: string;
  /** The API and runner token: agent CLIs get ao's MCP server with their run's credential from it. */
  agentApi?: AgentApi;
  /** Where a run's missing base commit is fetched from (default: origin, no token). */
  forge?: ForgeAccess;
  /** The runner's secrets and the key shapes. */
  redactor: Redactor;
  /** When the runner last reached Temporal. */
  contact: TemporalContact;
  /** Aborted when the runner shuts down: presence ends at once while running runs drain. */
  shutdownSignal: AbortSignal;
  events: EventSpool;
  hooks: HookSettings;
  log: RunnerLog;
  metrics: RunnerMetrics;
}

const HEARTBEAT_INTERVAL_MS = 2_000;

/** Activities served on one runner's own queue: they run on that machine. */
export function createRunnerActivities({ client, registration, profile, killGraceMs, containment, executorUser, dataDir, agentApi, forge = { remote: 'origin' }, redactor, contact, shutdownSignal, events, hooks, log, metrics }: RunnerDependencies) {
  // Runs in `project` mode share the project folder: one at a time.
  let projectQueue: Promise<unknown> = Promise.resolve();
  const projectLock = <T>(work: () => Promise<T>): Promise<T> => {
    const next = projectQueue.then(work, work);
    projectQueue = next.catch(() => undefined);
    return next;
  };
  const live = new LiveExecutions();
  /** Tells this runner's workflow that the run's slot is free; false when Temporal did not take it (the workflow then releases it). */
  const releaseOwnSlot = async (runId: string): Promise<boolean> => {
    try {
      await client.workflow.getHandle(runnerWorkflowId(registration.runner_id)).signal(releaseSlotSignal, { run_id: runId });
      return true;
    } catch (error) {
      log.error(`could not give the slot back (${(error as Error).message}); the run's workflow will`, runId);
      return false;
    }
  };
  return {
    /**
     * Held for as long as this runner process lives. Its heartbeats are the runner's liveness;
     * it returns when the worker shuts down, so a clean exit is not mistaken for a crash.
     */
    async holdPresence(): Promise<void> {
      const context = Context.current();
      const beat = (): void => heartbeat({ pid: process.pid, instance: registration.instance.id, at: new Date().toISOString() } satisfies PresenceHeartbeat);
      const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
      beat();
      const shuttingDown = new Promise<void>((resolve) => {
        if (shutdownSignal.aborted) resolve();
        shutdownSignal.addEventListener('abort', () => resolve(), { once: true });
      });
      try {
        await Promise.race([context.cancelled, shuttingDown]);
      } catch (error) {
        // The worker shutting down cancels it too: that is a clean end, not a failure.
        if (error instanceof CancelledFailure && context.cancellationDetails?.workerShutdown) return;
        throw error;
      } finally {
        clearInterval(timer);
      }
    },

    /**
     * Runs the executor for one run and returns its result; cancelling the activity ends its process group.
     * A run that completed gives its slot back here, before its result goes out: the runner's next queued
     * run is granted the slot without waiting for this run's closing workflow task. (Only on success: a
     * failed attempt may be retried on this runner, and the workflow gives the slot back when it is done.
     * A success never comes from an attempt Temporal timed out: the fence ends the executor first.)
     */
    async execute(request: ExecuteRequest): Promise<ExecutionResult> {
      const result = await executeRun({ client, registration, profile, containment, ...(executorUser ? { executorUser } : {}), ...(agentApi ? { agentApi } : {}), dataDir, forge, redactor, contact, events, hooks, log, metrics, live, projectLock, killGraceMs: killGraceMs ?? 5_000 }, request);
      return (await releaseOwnSlot(request.run_id)) ? { ...result, slot_released: true } : result;
    },

    /**
     * The runner command path: a command from a run's workflow, handed in memory to the execution
     * this runner holds for the run. Short, and scheduled on this runner's own queue.
     */
    deliverCommand({ run_id, command }: { run_id: string; command: RunnerCommand }): Promise<RunnerCommandReply> {
      return Promise.resolve(live.deliver(run_id, command));
    },
  };
}

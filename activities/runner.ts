import { ApplicationFailure, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { EXECUTOR_INVOCATION_SCHEMA_VERSION, type ExecutionResult, type ExecutorInvocation, type RunnerRegistration } from '../core/schemas.js';
import { RUNNER_SHUTDOWN, executorStartedSignal, runWorkflowId } from '../workflows/messages.js';
import { executorCatalog } from './executors/catalog.js';
import { ProcessStartError, runProcess } from './executors/process.js';

/** What the workflow sends the runner: the run, before the runner adds its executor and workspace. */
export interface ExecuteRequest {
  run_id: string;
  agent: { name: string; type: string; system_prompt?: string };
  prompt?: string;
  parameters: Record<string, unknown>;
  session_id?: string;
}

export interface RunnerDependencies {
  client: Client;
  registration: RunnerRegistration;
  /** Grace between SIGTERM and SIGKILL when a run is stopped. */
  killGraceMs?: number;
  /** Aborted when the runner shuts down: presence ends at once while running runs drain. */
  shutdownSignal: AbortSignal;
}

const HEARTBEAT_INTERVAL_MS = 2_000;

/** Activities served on one runner's own queue: they run on that machine. */
export function createRunnerActivities({ client, registration, killGraceMs, shutdownSignal }: RunnerDependencies) {
  return {
    /**
     * Held for as long as this runner process lives. Its heartbeats are the runner's liveness;
     * it returns when the worker shuts down, so a clean exit is not mistaken for a crash.
     */
    async holdPresence(): Promise<void> {
      const context = Context.current();
      const timer = setInterval(() => heartbeat({ pid: process.pid, instance: registration.instance.id }), HEARTBEAT_INTERVAL_MS);
      heartbeat({ pid: process.pid, instance: registration.instance.id });
      const shuttingDown = new Promise<void>((resolve) => {
        if (shutdownSignal.aborted) resolve();
        shutdownSignal.addEventListener('abort', () => resolve(), { once: true });
      });
      try {
        await Promise.race([context.cancelled, shuttingDown]);
      } catch (error) {
        if (error instanceof CancelledFailure && error.message === 'WORKER_SHUTDOWN') return;
        throw error;
      } finally {
        clearInterval(timer);
      }
    },

    /** Runs the executor for one run and returns its result; cancelling the activity ends its process group. */
    async execute(request: ExecuteRequest): Promise<ExecutionResult> {
      const context = Context.current();
      const { executor } = registration;
      const adapter = executorCatalog[executor.type];
      const command = executor.command ?? adapter.defaultCommand();
      if (!command) {
        throw ApplicationFailure.create({
          type: 'EXECUTOR_NOT_FOUND',
          nonRetryable: true,
          message: `runner ${registration.runner_id}: profile "${registration.executor_profile}" of type ${executor.type} gives no command`,
        });
      }
      const invocation: ExecutorInvocation = {
        schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
        ...request,
        executor_type: executor.type,
        executor_config: executor.config,
        workspace_dir: registration.project_dir,
      };
      const { argv, stdin } = adapter.plan(invocation, command);
      const workflowId = runWorkflowId(request.run_id);
      const beat = setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
      try {
        const outcome = await runProcess({
          argv,
          stdin,
          cwd: registration.project_dir,
          signal: context.cancellationSignal,
          killGraceMs: killGraceMs ?? 5_000,
          onStart: (pid) => {
            heartbeat({ pid });
            client.workflow
              .getHandle(workflowId)
              .signal(executorStartedSignal, { pid, started_at: new Date().toISOString() })
              .catch((error: unknown) => {
                context.log.warn('could not report executor start', { error });
              });
          },
        });
        if (outcome.aborted) {
          if (context.cancellationDetails?.workerShutdown) {
            throw ApplicationFailure.create({ type: RUNNER_SHUTDOWN, message: `runner ${registration.runner_id} shut down`, nonRetryable: true });
          }
          throw new CancelledFailure('executor stopped');
        }
        const output = adapter.interpret(outcome);
        if (output.status === 'failed') {
          throw ApplicationFailure.create({
            type: 'EXECUTOR_FAILED',
            nonRetryable: true,
            message: output.error ?? 'executor failed',
            details: [{ exit_code: outcome.exitCode, stderr_tail: outcome.stderr.slice(-4000) }],
          });
        }
        return {
          exit_code: outcome.exitCode,
          ...(output.result_data !== undefined ? { result_data: output.result_data } : {}),
          ...(output.session_id ? { session_id: output.session_id } : {}),
          stdout_tail: outcome.stdout.slice(-4000),
          stderr_tail: outcome.stderr.slice(-4000),
        };
      } catch (error) {
        if (error instanceof ProcessStartError) {
          throw ApplicationFailure.create({ type: 'EXECUTOR_NOT_FOUND', nonRetryable: true, message: error.message });
        }
        throw error;
      } finally {
        clearInterval(beat);
      }
    },
  };
}

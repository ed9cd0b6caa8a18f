import { ApplicationFailure, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { EXECUTOR_INVOCATION_SCHEMA_VERSION, type ExecutionResult, type ExecutorInvocation, type RunnerRegistration } from '../core/schemas.js';
import { RUNNER_SHUTDOWN, executorStartedSignal, runWorkflowId } from '../workflows/messages.js';
import type { EventSpool } from './events/event-spool.js';
import { executorCatalog } from './executors/catalog.js';
import { ProcessStartError, killGroup, runProcess, waitForGroupExit } from './executors/process.js';

/** What the workflow sends the runner: the run, before the runner adds its executor and workspace. */
export interface ExecuteRequest {
  run_id: string;
  agent: { name: string; type: string; system_prompt?: string };
  prompt?: string;
  parameters: Record<string, unknown>;
  /** The executor session to continue. */
  session_id?: string;
  timeout_seconds?: number;
}

/** Heartbeat details: what a retried attempt (after a runner crash) needs to clean up and resume. */
interface ExecuteProgress {
  pid?: number;
  session_id?: string;
}

export interface ExecuteDependencies {
  client: Client;
  registration: RunnerRegistration;
  killGraceMs: number;
  events: EventSpool;
}

const HEARTBEAT_INTERVAL_MS = 1_000;

const configTimeout = (config: Record<string, unknown>): number | undefined =>
  typeof config.timeout_seconds === 'number' && config.timeout_seconds > 0 ? config.timeout_seconds : undefined;

/**
 * Runs the executor for one run. Cancelling the activity (a stop) or reaching the run's timeout
 * ends the executor's whole process group; the activity returns only once those processes are gone.
 * A retried attempt (the runner crashed and came back) first ends what the dead attempt left running,
 * then starts the executor again on the same executor session.
 */
export async function executeRun({ client, registration, killGraceMs, events }: ExecuteDependencies, request: ExecuteRequest): Promise<ExecutionResult> {
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

  const attempt = context.info.attempt;
  const previous = attempt > 1 ? (context.info.heartbeatDetails as ExecuteProgress | undefined) : undefined;
  if (previous?.pid) {
    killGroup(previous.pid, 'SIGKILL');
    await waitForGroupExit(previous.pid);
  }
  const progress: ExecuteProgress = { ...(request.session_id ?? previous?.session_id ? { session_id: request.session_id ?? previous?.session_id } : {}) };
  const { timeout_seconds: requestTimeout, ...run } = request;
  const invocation: ExecutorInvocation = {
    schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
    ...run,
    ...(progress.session_id ? { session_id: progress.session_id } : {}),
    executor_type: executor.type,
    executor_config: executor.config,
    workspace_dir: registration.project_dir,
  };
  const { argv, stdin } = adapter.plan(invocation, command);

  const timeouts = [requestTimeout, configTimeout(executor.config)].filter((value): value is number => value !== undefined);
  const timeoutSeconds = timeouts.length ? Math.min(...timeouts) : undefined;
  const abort = new AbortController();
  let timedOut = false;
  const timer = timeoutSeconds
    ? setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutSeconds * 1000)
    : undefined;
  const onCancel = (): void => abort.abort();
  context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  const beat = setInterval(() => heartbeat(progress), HEARTBEAT_INTERVAL_MS);
  const emit = (kind: Parameters<EventSpool['emit']>[2], data: Record<string, unknown>): void => events.emit(request.run_id, attempt, kind, data);
  const startedAt = Date.now();
  try {
    const outcome = await runProcess({
      argv,
      stdin,
      cwd: registration.project_dir,
      signal: abort.signal,
      killGraceMs,
      onStdout: (text) => emit('terminal_chunk', { stream: 'stdout', text }),
      onStderr: (text) => emit('terminal_chunk', { stream: 'stderr', text }),
      onStart: (pid) => {
        progress.pid = pid;
        heartbeat(progress);
        emit('session_started', {
          pid,
          attempt,
          executor_type: executor.type,
          runner_id: registration.runner_id,
          ...(progress.session_id ? { session_id: progress.session_id } : {}),
        });
        client.workflow
          .getHandle(runWorkflowId(request.run_id))
          .signal(executorStartedSignal, {
            pid,
            started_at: new Date().toISOString(),
            attempt,
            ...(previous && progress.session_id ? { resumed_session: progress.session_id } : {}),
          })
          .catch((error: unknown) => {
            context.log.warn('could not report executor start', { error });
          });
      },
    });
    emit('session_ended', {
      exit_code: outcome.exitCode,
      signal: outcome.signal,
      duration_ms: Date.now() - startedAt,
      outcome: timedOut ? 'timed_out' : outcome.aborted ? 'stopped' : outcome.exitCode === 0 ? 'exited' : 'failed',
    });
    if (timedOut) {
      throw ApplicationFailure.create({
        type: 'RUN_TIMEOUT',
        nonRetryable: true,
        message: `run exceeded its timeout of ${timeoutSeconds}s; its processes were ended`,
      });
    }
    if (outcome.aborted) {
      if (context.cancellationDetails?.workerShutdown) {
        throw ApplicationFailure.create({ type: RUNNER_SHUTDOWN, message: `runner ${registration.runner_id} shut down`, nonRetryable: true });
      }
      throw new CancelledFailure('executor stopped; its processes have exited');
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
    if (timer) clearTimeout(timer);
    context.cancellationSignal.removeEventListener('abort', onCancel);
  }
}

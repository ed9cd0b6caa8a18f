import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  condition,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createControlActivities } from '../activities/control.js';
import type { createRunnerActivities } from '../activities/runner.js';
import { finalStatusFor, isRunFailureType, type RunFailureType } from '../core/failures.js';
import type { RunStatus } from '../core/run-status.js';
import type { RunInput, RunState } from '../core/schemas.js';
import { searchAttributes } from '../core/search-attributes.js';
import { RUNNER_SHUTDOWN, executorStartedSignal, runnerAvailableSignal, releaseSlotSignal, runStateQuery, runnerTaskQueue, runnerWorkflowId } from './messages.js';

type ControlActivities = ReturnType<typeof createControlActivities>;
type RunnerActivities = ReturnType<typeof createRunnerActivities>;

const DEFAULT_NO_RUNNER_TIMEOUT_SECONDS = 300;
const DEFAULT_RUN_TIMEOUT_SECONDS = 3600;
const DEFAULT_DISPATCH_TIMEOUT_SECONDS = 30;
/** Polling for a matching runner backs off up to this interval; a freed slot wakes the run sooner. */
const MAX_PICK_INTERVAL_MS = 2_000;

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' },
});

/**
 * One run of an agent: resolve its demands, wait for an eligible live runner, execute the
 * executor on that runner's own queue, and record every status change with its time and reason.
 * A failed run fails the workflow with a typed `ApplicationFailure` whose details hold the final state.
 */
export async function runWorkflow(input: RunInput): Promise<RunState> {
  const state: RunState = {
    run_id: input.run_id,
    agent: input.agent,
    status: 'pending',
    parameters: input.parameters,
    history: [{ status: 'pending', at: new Date().toISOString(), reason: 'accepted' }],
    created_at: input.created_at,
  };

  const transition = (status: RunStatus, reason?: string): void => {
    state.status = status;
    state.history.push({ status, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
    upsertSearchAttributes([{ key: searchAttributes.runStatus, value: status }]);
  };
  const fail = (type: RunFailureType, message: string): ApplicationFailure => {
    state.error = { type, message };
    state.pending_reason = undefined;
    transition(finalStatusFor(type), message);
    return ApplicationFailure.create({ type, message, nonRetryable: true, details: [state] });
  };

  setHandler(runStateQuery, () => state);
  let woken = false;
  setHandler(runnerAvailableSignal, () => {
    woken = true;
  });
  setHandler(executorStartedSignal, ({ pid, started_at }) => {
    if (state.status !== 'dispatched') return;
    state.executor_started_at = started_at;
    transition('running', `executor started (pid ${pid})`);
  });

  let resolved: Awaited<ReturnType<ControlActivities['resolveRun']>>;
  try {
    resolved = await control.resolveRun(input);
  } catch (error) {
    throw fail('INVALID_RUN', causeMessage(error));
  }
  state.demands = resolved.demands;
  upsertSearchAttributes([{ key: searchAttributes.tags, value: resolved.demands.tags }]);

  const runTimeoutSeconds = input.timeout_seconds ?? resolved.timeout_seconds ?? DEFAULT_RUN_TIMEOUT_SECONDS;

  for (;;) {
    const runner = await waitForRunner();
    state.runner_id = runner.runner_id;
    state.pending_reason = undefined;
    upsertSearchAttributes([
      { key: searchAttributes.runnerId, value: runner.runner_id },
      { key: searchAttributes.profile, value: runner.executor_profile },
    ]);
    transition('dispatched', `runner ${runner.runner_id}`);

    const { execute } = proxyActivities<RunnerActivities>({
      taskQueue: runnerTaskQueue(runner.runner_id),
      // The queue belongs to one runner: if it never takes the task, pick another.
      scheduleToStartTimeout: `${input.dispatch_timeout_seconds ?? DEFAULT_DISPATCH_TIMEOUT_SECONDS} seconds`,
      startToCloseTimeout: `${runTimeoutSeconds} seconds`,
      heartbeatTimeout: '10 seconds',
      retry: { maximumAttempts: 1 },
    });
    try {
      const result = await execute(resolved.request);
      state.result = result.result_data ?? { exit_code: result.exit_code, stdout: result.stdout_tail, stderr: result.stderr_tail };
      transition('completed', `exit code ${result.exit_code ?? 'none'}`);
      return state;
    } catch (error) {
      if (isTimeout(error, 'SCHEDULE_TO_START')) {
        state.runner_id = undefined;
        transition('pending', `runner ${runner.runner_id} did not take the run; choosing another`);
        continue;
      }
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === RUNNER_SHUTDOWN) {
        state.runner_id = undefined;
        transition('pending', `runner ${runner.runner_id} shut down during the run; handing it to another runner`);
        continue;
      }
      if (isTimeout(error, 'HEARTBEAT') && state.status === 'dispatched') {
        // The runner took the task but never started the executor: it froze or died on the way.
        state.runner_id = undefined;
        transition('pending', `runner ${runner.runner_id} stopped responding before starting the run; choosing another`);
        continue;
      }
      if (isTimeout(error, 'HEARTBEAT')) throw fail('RUNNER_LOST', `runner ${runner.runner_id} was lost during the run (no heartbeat)`);
      if (isTimeout(error, 'START_TO_CLOSE')) throw fail('RUN_TIMEOUT', `run exceeded its timeout of ${runTimeoutSeconds}s`);
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
      const type = cause?.type && isRunFailureType(cause.type) ? cause.type : 'EXECUTOR_FAILED';
      throw fail(type, causeMessage(error));
    } finally {
      await releaseSlot(runner.runner_id);
    }
  }

  async function waitForRunner(): Promise<{ runner_id: string; executor_profile: string }> {
    const noRunnerDeadline = Date.now() + (input.no_runner_timeout_seconds ?? DEFAULT_NO_RUNNER_TIMEOUT_SECONDS) * 1000;
    let interval = 250;
    for (;;) {
      const pick = await control.pickRunner({ run_id: state.run_id, demands: resolved.demands });
      if (pick.runner) return pick.runner;
      if (state.pending_reason !== pick.reason) state.pending_reason = pick.reason;
      const remaining = noRunnerDeadline - Date.now();
      if (remaining <= 0) throw fail('NO_RUNNER', `no runner took the run in time: ${pick.reason}`);
      woken = false;
      await condition(() => woken, Math.min(interval, remaining));
      interval = Math.min(interval * 2, MAX_PICK_INTERVAL_MS);
    }
  }

  async function releaseSlot(runnerId: string): Promise<void> {
    try {
      await getExternalWorkflowHandle(runnerWorkflowId(runnerId)).signal(releaseSlotSignal, { run_id: state.run_id });
    } catch {
      // The runner's workflow is gone; it holds no slot to release.
    }
  }
}

function isTimeout(error: unknown, type: TimeoutFailure['timeoutType']): boolean {
  return error instanceof ActivityFailure && error.cause instanceof TimeoutFailure && error.cause.timeoutType === type;
}

/** The innermost readable message of an activity failure. */
function causeMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && 'cause' in current && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

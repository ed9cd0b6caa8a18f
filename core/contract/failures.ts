import { ApplicationFailure } from '@temporalio/common';
import type { FinalRunStatus } from './run-status.js';

/** Why a run did not complete. Each type is the `ApplicationFailure` type that carries it. */
export const RUN_FAILURE_TYPES = [
  /** No live runner met the run's demands before the no-runner timeout. */
  'NO_RUNNER',
  /** The run waited for a free slot longer than its `queue_timeout_seconds`. */
  'QUEUE_TIMEOUT',
  /** The executor exited non-zero or reported a failure. */
  'EXECUTOR_FAILED',
  /** The executor's command could not be started (missing binary, bad profile). */
  'EXECUTOR_NOT_FOUND',
  /** The run exceeded its timeout. */
  'RUN_TIMEOUT',
  /** The runner vanished mid-run and did not come back in time. */
  'RUNNER_LOST',
  /** The agent or its parameters were not valid when the run started. */
  'INVALID_RUN',
  /** The run's workspace (git worktree) could not be prepared. */
  'WORKSPACE_FAILED',
  /** A pre_run hook refused the run. */
  'HOOK_FAILED',
  /** The run was stopped on request. */
  'STOPPED',
  /** Nobody answered an approval in time and the profile says the run fails (`on_approval_timeout: fail`). */
  'APPROVAL_TIMEOUT',
  /** The run's usage went over its budget (`max_cost_usd` or `max_turns`); the runner stopped it. */
  'BUDGET_EXCEEDED',
  /** The run's work is on its branch, but the pull request its agent defines was not opened (push or forge command failed). */
  'PULL_REQUEST_FAILED',
] as const;
export type RunFailureType = (typeof RUN_FAILURE_TYPES)[number];

export function isRunFailureType(value: string): value is RunFailureType {
  return (RUN_FAILURE_TYPES as readonly string[]).includes(value);
}

function assertExhaustive(value: never): never {
  throw new Error(`unhandled failure type: ${String(value)}`);
}

/** The final status of a run that ended with a failure of this type. */
export function finalStatusFor(type: RunFailureType): FinalRunStatus {
  switch (type) {
    case 'STOPPED':
      return 'stopped';
    case 'NO_RUNNER':
    case 'QUEUE_TIMEOUT':
    case 'EXECUTOR_FAILED':
    case 'EXECUTOR_NOT_FOUND':
    case 'RUN_TIMEOUT':
    case 'RUNNER_LOST':
    case 'INVALID_RUN':
    case 'WORKSPACE_FAILED':
    case 'HOOK_FAILED':
    case 'APPROVAL_TIMEOUT':
    case 'BUDGET_EXCEEDED':
    case 'PULL_REQUEST_FAILED':
      return 'failed';
    default:
      return assertExhaustive(type);
  }
}

/** A run's failure, carried by a non-retryable `ApplicationFailure` of the run failure type. */
export const runFailure = (type: RunFailureType, message: string, details?: unknown[]): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable: true, ...(details ? { details } : {}) });

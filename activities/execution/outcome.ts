import { CancelledFailure, Context } from '@temporalio/activity';
import type { ExecutionResult } from '../../core/contract/workflow-io.js';
import type { WorkspaceSummary } from '../../core/contract/workspace.js';
import type { SessionEndOutcome } from '../../core/contract/events.js';
import { runFailure } from '../../core/contract/failures.js';
import { roundUsd } from '../../core/contract/usage.js';
import type { ToolErrors } from './event-shaping.js';
import type { Emit } from './context.js';
import type { Launch } from './launch.js';
import type { SupervisedOutcome } from './supervised-process.js';

const TAIL_CHARS = 4000;

/** `session_ended`'s outcome. */
export const sessionEndOutcome = ({ outcome, timedOut }: SupervisedOutcome): SessionEndOutcome =>
  timedOut ? 'timed_out' : outcome.aborted ? 'stopped' : outcome.exitCode === 0 ? 'exited' : 'failed';

/**
 * The activity's answer from how the executor ended: a timeout is `RUN_TIMEOUT`, a stop a
 * cancellation, a failed output `EXECUTOR_FAILED` (with the exit code, stderr tail, workspace and
 * any result the executor still gave). The output's alerts are emitted as `alert` events.
 */
export function executionResult(
  launch: Launch,
  supervised: SupervisedOutcome,
  timeoutSeconds: number | undefined,
  workspace: WorkspaceSummary | undefined,
  emit: Emit,
  toolErrors?: ToolErrors,
  sessionCostBefore?: number,
): ExecutionResult {
  const { outcome } = supervised;
  if (supervised.timedOut) throw runFailure('RUN_TIMEOUT', `run exceeded its timeout of ${timeoutSeconds}s; its processes were ended`);
  if (outcome.aborted) {
    // A stop that came over the runner command path, before the activity's cancellation: not to be retried.
    if (!Context.current().cancellationSignal.aborted) throw runFailure('STOPPED', 'executor stopped on request; its processes have exited');
    throw new CancelledFailure('executor stopped; its processes have exited');
  }
  const output = launch.adapter.interpret(outcome, launch.invocation);
  for (const message of output.alerts ?? []) emit('alert', { kind: 'executor', message, source: 'executor' });
  if (output.status === 'failed') {
    const details = { exit_code: outcome.exitCode, stderr_tail: outcome.stderr.slice(-TAIL_CHARS), workspace, ...(output.result_data !== undefined ? { result_data: output.result_data } : {}) };
    throw runFailure('EXECUTOR_FAILED', output.error ?? 'executor failed', [details]);
  }
  // A run whose agent's tools failed says so, rather than a silent `completed`.
  const withErrors = toolErrors && isPlainObject(output.result_data) ? { ...output.result_data, tool_errors: toolErrors } : output.result_data;
  const resultData = launch.adapter.capabilities.cost ? ownCost(withErrors, sessionCostBefore) : withErrors;
  return {
    exit_code: outcome.exitCode,
    ...(resultData !== undefined ? { result_data: resultData } : {}),
    ...(output.session_id ? { session_id: output.session_id } : {}),
    ...(workspace ? { workspace } : {}),
    stdout_tail: outcome.stdout.slice(-TAIL_CHARS),
    stderr_tail: outcome.stderr.slice(-TAIL_CHARS),
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An executor that reports a cost of its own reports its session's running total (Claude Code):
 * a resumed run's own cost is that less what the session had cost before it.
 */
export function ownCost(data: unknown, before: number | undefined): unknown {
  if (!before || !isPlainObject(data) || typeof data.cost_usd !== 'number') return data;
  const cost = roundUsd(Math.max(0, data.cost_usd - before));
  const usage = isPlainObject(data.usage) ? { ...data.usage, cost_usd: cost } : data.usage;
  return { ...data, cost_usd: cost, ...(usage !== undefined ? { usage } : {}) };
}

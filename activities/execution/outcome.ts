import { CancelledFailure } from '@temporalio/activity';
import type { ExecutionResult } from '../../core/contract/workflow-io.js';
import type { WorkspaceSummary } from '../../core/contract/workspace.js';
import type { SessionEndOutcome } from '../../core/contract/events.js';
import { runFailure } from '../../core/contract/failures.js';
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
export function executionResult(launch: Launch, supervised: SupervisedOutcome, timeoutSeconds: number | undefined, workspace: WorkspaceSummary | undefined, emit: Emit): ExecutionResult {
  const { outcome } = supervised;
  if (supervised.timedOut) throw runFailure('RUN_TIMEOUT', `run exceeded its timeout of ${timeoutSeconds}s; its processes were ended`);
  if (outcome.aborted) throw new CancelledFailure('executor stopped; its processes have exited');
  const output = launch.adapter.interpret(outcome, launch.invocation);
  for (const message of output.alerts ?? []) emit('alert', { message, source: 'executor' });
  if (output.status === 'failed') {
    const details = { exit_code: outcome.exitCode, stderr_tail: outcome.stderr.slice(-TAIL_CHARS), workspace, ...(output.result_data !== undefined ? { result_data: output.result_data } : {}) };
    throw runFailure('EXECUTOR_FAILED', output.error ?? 'executor failed', [details]);
  }
  return {
    exit_code: outcome.exitCode,
    ...(output.result_data !== undefined ? { result_data: output.result_data } : {}),
    ...(output.session_id ? { session_id: output.session_id } : {}),
    ...(workspace ? { workspace } : {}),
    stdout_tail: outcome.stdout.slice(-TAIL_CHARS),
    stderr_tail: outcome.stderr.slice(-TAIL_CHARS),
  };
}

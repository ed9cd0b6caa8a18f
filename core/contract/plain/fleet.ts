import type { RunnerState } from '../fleet.js';

/** Runner states and script install failures, zod-free for workflow code (./run-status.ts says why). */

/** Failure types of a script install, a closed set: the runner's activity raises them, script sync reads them. */
export const SCRIPT_SYNC_FAILURE_TYPES = [
  /** The runner has no API URL to download from. */
  'SCRIPT_SYNC_UNAVAILABLE',
  /** The script was deleted since the request. */
  'SCRIPT_GONE',
  'SCRIPT_DOWNLOAD_FAILED',
  /** The bundle is too large or holds an entry that is not a plain file. */
  'SCRIPT_BUNDLE_REFUSED',
  'SCRIPT_HASH_MISMATCH',
  /** The script changed since the request; a newer request follows. */
  'SCRIPT_VERSION_CHANGED',
] as const;
export type ScriptSyncFailureType = (typeof SCRIPT_SYNC_FAILURE_TYPES)[number];

/** Failure types that mean the request is out of date, not that the runner cannot install. */
export const STALE_SCRIPT_REQUEST_FAILURES: readonly string[] = ['SCRIPT_GONE', 'SCRIPT_VERSION_CHANGED'] satisfies ScriptSyncFailureType[];

export const RUNNER_STATUSES = ['online', 'draining', 'unhealthy', 'offline'] as const;
export type RunnerStatus = (typeof RUNNER_STATUSES)[number];

type Liveness = Pick<RunnerState, 'online' | 'draining' | 'unhealthy_reason'>;

/** The one rule for what a runner's state means: only an `online` runner takes runs. */
export const runnerStatus = (state: Liveness): RunnerStatus =>
  !state.online ? 'offline' : state.draining ? 'draining' : state.unhealthy_reason ? 'unhealthy' : 'online';

/** Only a runner that is offline and holds no run may be forgotten; why not, in words, otherwise. */
export function notForgettableReason(state: Pick<RunnerState, 'online' | 'draining' | 'unhealthy_reason' | 'active_runs'>): string | undefined {
  const status = runnerStatus(state);
  if (status !== 'offline') return `runner is ${status}: only an offline runner can be forgotten`;
  if (state.active_runs.length) return `runner still holds ${state.active_runs.length} run(s) (${state.active_runs.join(', ')}): they release their slots when they end`;
  return undefined;
}

export const takesRuns = (state: Liveness): boolean => runnerStatus(state) === 'online';

/** Why a runner takes no runs, in words; undefined when it takes them. */
export function notTakingRunsReason(state: Liveness): string | undefined {
  switch (runnerStatus(state)) {
    case 'offline':
      return 'runner is offline';
    case 'draining':
      return 'runner is draining';
    case 'unhealthy':
      return `runner is unhealthy: ${state.unhealthy_reason}`;
    case 'online':
      return undefined;
  }
}

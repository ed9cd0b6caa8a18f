import { FINAL_RUN_STATUSES, RUN_STATUSES, isFinalRunStatus, isLiveRunStatus, type RunStatus } from '../../../core/contract/run-status';
import type { RunnerStatus } from '../api/contract';
import type { Tone } from './event-catalog';

export { FINAL_RUN_STATUSES, RUN_STATUSES, isFinalRunStatus, isLiveRunStatus };

/** The colour of each run status; total over the closed set, so a new status must be placed here. */
export const RUN_STATUS_TONE: Record<RunStatus, Tone> = {
  pending: 'warn',
  dispatched: 'info',
  running: 'info',
  waiting_for_approval: 'warn',
  paused: 'warn',
  stopping: 'warn',
  completed: 'good',
  failed: 'bad',
  stopped: 'muted',
};

export const RUNNER_STATUS_TONE: Record<RunnerStatus, Tone> = {
  online: 'good',
  draining: 'warn',
  unhealthy: 'bad',
  offline: 'muted',
};

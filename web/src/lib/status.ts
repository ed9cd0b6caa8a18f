import { FINAL_RUN_STATUSES, RUN_STATUSES, isFinalRunStatus, isLiveRunStatus, type RunStatus } from '../../../core/contract/run-status';
import type { RunnerStatus } from '../api/contract';
import type { FlowRunStatus } from '../../../core/contract/flows';
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

/** The colour of each flow run status. */
export const FLOW_RUN_STATUS_TONE: Record<FlowRunStatus, Tone> = {
  running: 'info',
  stopping: 'warn',
  completed: 'good',
  failed: 'bad',
  stopped: 'muted',
};

/**
 * Zod-free parts of the contract, for workflow code: every workflow evaluates its bundle's modules
 * anew when it starts, and schemas cost it milliseconds each time (workers/workflow-bundle.ts). The
 * schema modules beside this folder re-export these and add their schemas.
 */

/**
 * Every status a run can be in. One closed set, shared by workflows, API and dashboard.
 *
 * pending → dispatched → running ⇄ waiting_for_approval | paused → completed | failed | stopped,
 * with `stopping` between a stop request and the executor's exit.
 */
export const RUN_STATUSES = [
  /** Accepted; waiting for an eligible live runner. */
  'pending',
  /** A runner was picked and the execute activity is scheduled on its queue. */
  'dispatched',
  /** The runner started the executor process. */
  'running',
  /** The executor asked for an operator's decision. */
  'waiting_for_approval',
  /** An operator froze every process of the run; its timeout clock stands still until it is resumed. */
  'paused',
  /** A stop was accepted; the executor's processes are being ended. */
  'stopping',
  /** The executor finished successfully. */
  'completed',
  /** The run could not finish: executor error, no runner, timeout, runner lost. */
  'failed',
  /** Stopped on request, after its processes were gone. */
  'stopped',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const FINAL_RUN_STATUSES = ['completed', 'failed', 'stopped'] as const satisfies readonly RunStatus[];
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];

export function isFinalRunStatus(status: RunStatus): status is FinalRunStatus {
  return (FINAL_RUN_STATUSES as readonly RunStatus[]).includes(status);
}

/**
 * Statuses in which a run waits for a person: the dashboard lists these runs first and counts
 * them in its header. (A status that holds a run for someone, such as a pause, belongs here too.)
 */
export const PERSON_WAITING_STATUSES = ['waiting_for_approval', 'paused'] as const satisfies readonly RunStatus[];

export function isWaitingForPerson(status: RunStatus | undefined): boolean {
  return status !== undefined && (PERSON_WAITING_STATUSES as readonly RunStatus[]).includes(status);
}

/** The statuses in which the run's executor is live on its runner: commands (input, pause, stop) can reach it. */
export const LIVE_RUN_STATUSES = ['running', 'waiting_for_approval', 'paused'] as const satisfies readonly RunStatus[];
export type LiveRunStatus = (typeof LIVE_RUN_STATUSES)[number];

export function isLiveRunStatus(status: RunStatus): status is LiveRunStatus {
  return (LIVE_RUN_STATUSES as readonly RunStatus[]).includes(status);
}

export const isRunStatus = (value: unknown): value is RunStatus => typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value);

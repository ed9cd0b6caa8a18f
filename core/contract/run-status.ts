import { z } from 'zod';

/**
 * Every status a run can be in. One closed set, shared by workflows, API and dashboard.
 *
 * pending → dispatched → running ⇄ waiting_for_approval → completed | failed | stopped,
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
  /** A stop was accepted; the executor's processes are being ended. */
  'stopping',
  /** The executor finished successfully. */
  'completed',
  /** The run could not finish: executor error, no runner, timeout, runner lost. */
  'failed',
  /** Stopped on request, after its processes were gone. */
  'stopped',
] as const;

export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const FINAL_RUN_STATUSES = ['completed', 'failed', 'stopped'] as const satisfies readonly RunStatus[];
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];

export function isFinalRunStatus(status: RunStatus): status is FinalRunStatus {
  return (FINAL_RUN_STATUSES as readonly RunStatus[]).includes(status);
}

export const isRunStatus = (value: unknown): value is RunStatus => typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value);

import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { runStateQuery } from '../../workflows/messages.js';
import type { RunState } from '../contract/workflow-io.js';

/**
 * A run's state from Temporal: the live query while it runs; once closed, its result (a completed
 * or stopped run) or the state carried in its failure (a failed run, or a run stopped before
 * stopped runs completed). Undefined when the workflow closed without one (terminated outside ao).
 */
export async function readRunState(client: Client, workflowId: string, running?: boolean): Promise<RunState | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const isRunning = running ?? (await handle.describe()).status.name === 'RUNNING';
  if (isRunning) return handle.query(runStateQuery);
  try {
    return (await handle.result()) as RunState;
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      return error.cause.details?.[0] as RunState | undefined;
    }
    return undefined;
  }
}

/** Whether a run's workflow is no longer running (ended, or unknown to Temporal). */
export async function runHasEnded(client: Client, workflowId: string): Promise<boolean> {
  const status = await client.workflow.getHandle(workflowId).describe().then(
    (description) => description.status.name,
    () => 'GONE',
  );
  return status !== 'RUNNING';
}

import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { runWorkflowId, stopRunUpdate } from '../workflows/messages.js';

/** Control-side steps of a flow: what a workflow cannot do itself, such as sending another workflow an update. */
export function createFlowControlActivities({ client }: { client: Client }) {
  return {
    /** Stops a step's run as `POST /runs/:id/stop` would; a run that has ended, or is stopping already, is left as it is. */
    async stopStepRun({ run_id, by, reason }: { run_id: string; by?: string; reason: string }): Promise<void> {
      try {
        await client.workflow.getHandle(runWorkflowId(run_id)).executeUpdate(stopRunUpdate, { args: [{ reason, ...(by ? { by } : {}) }] });
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return;
        throw error;
      }
    },
  };
}

import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ResolvedConcurrency } from '../core/contract/concurrency.js';
import { CONCURRENCY_WORKFLOW_TYPE, CONTROL_TASK_QUEUE, concurrencyWorkflowId, requestPermitSignal, type PermitRequest } from '../workflows/messages.js';
import type { ConcurrencyCarried } from '../workflows/concurrency.js';

/** Activities of the control worker for concurrency keys: asking a key's semaphore workflow, and checking its holders. */
export function createConcurrencyActivities({ client }: { client: Client }) {
  return {
    /** Asks the key's workflow for a permit, starting it when nobody holds or waits for the key. */
    async requestPermit({ key, ...request }: Omit<PermitRequest, 'limit'> & ResolvedConcurrency): Promise<void> {
      await client.workflow.signalWithStart(CONCURRENCY_WORKFLOW_TYPE, {
        workflowId: concurrencyWorkflowId(key),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ key } satisfies ConcurrencyCarried],
        signal: requestPermitSignal,
        signalArgs: [request],
        staticSummary: `concurrency key ${key}`,
      });
    },

    /** Which of these run workflows have closed (or never existed): their permits are free. */
    async closedRuns(workflowIds: string[]): Promise<string[]> {
      const closed = await Promise.all(
        workflowIds.map(async (id) => {
          try {
            return (await client.workflow.getHandle(id).describe()).status.name === 'RUNNING' ? undefined : id;
          } catch (error) {
            if (error instanceof WorkflowNotFoundError) return id;
            throw error;
          }
        }),
      );
      return closed.filter((id): id is string => id !== undefined);
    },
  };
}

import { CancellationScope, condition, getExternalWorkflowHandle, proxyLocalActivities, setHandler, workflowInfo, type ApplicationFailure } from '@temporalio/workflow';
import type { createConcurrencyActivities } from '../activities/concurrency.js';
import type { ResolvedConcurrency } from '../core/contract/concurrency.js';
import type { RunFailureType } from '../core/contract/failures.js';
import type { RunInput, RunState } from '../core/contract/workflow-io.js';
import { concurrencyWorkflowId, permitGrantedSignal, releasePermitSignal } from './messages.js';

type ConcurrencyActivities = ReturnType<typeof createConcurrencyActivities>;

// In the control worker's own process, in the workflow task that asks: no hand-off through matching.
const local = proxyLocalActivities<ConcurrencyActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' } });

/** A waiting run asks its key again this often. */
const REASK_MS = 60_000;

export interface PermitsContext {
  input: RunInput;
  state: RunState;
  stopRequested: () => boolean;
  fail: (type: RunFailureType, message: string) => ApplicationFailure;
}

/**
 * The run's side of its concurrency keys (workflows/concurrency.ts holds the other): it takes a
 * permit of each key, in key order, before it looks for a runner, and gives every key it asked for
 * back when it ends, however it ends.
 */
export function createPermits({ input, state, stopRequested, fail }: PermitsContext) {
  const granted = new Set<string>();
  /** Every key the run asked for: released at the end whether granted or still waited for. */
  const asked: string[] = [];
  setHandler(permitGrantedSignal, ({ key }) => {
    granted.add(key);
  });

  /** Takes a permit of every key; false when a stop arrives first. A queue timeout counts for each key's wait. */
  async function acquire(limits: ResolvedConcurrency[]): Promise<boolean> {
    for (const { key, limit } of limits) {
      asked.push(key);
      const ask = () =>
        local.requestPermit.executeWithOptions({ summary: `ask for a permit of concurrency key ${key} (at most ${limit} at once)` }, [
          { key, limit, run_id: state.run_id, workflow_id: workflowInfo().workflowId, priority: input.priority ?? 0 },
        ]);
      await ask();
      const admitted = () => granted.has(key) || stopRequested();
      if (!admitted()) state.pending_reason = `waiting for concurrency key ${key}: at most ${limit} at once`;
      const timeoutSeconds = input.queue_timeout_seconds;
      const deadline = timeoutSeconds === undefined ? Infinity : Date.now() + timeoutSeconds * 1000;
      while (!admitted()) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw fail('QUEUE_TIMEOUT', `waited longer than its queue timeout of ${timeoutSeconds}s for concurrency key ${key} (at most ${limit} at once)`);
        // Asking again keeps the run's place (or hears of a permit it holds once more): a grant that went
        // astray, or a key workflow that was lost, costs a wait of this long, never the run.
        if (!(await condition(admitted, Math.min(REASK_MS, remaining))) && Date.now() < deadline) await ask();
      }
      if (stopRequested()) return false;
    }
    state.pending_reason = undefined;
    return true;
  }

  /** Gives back every permit and place in line, even when the run is being cancelled. */
  async function releaseAll(): Promise<void> {
    await CancellationScope.nonCancellable(() =>
      Promise.all(
        asked.splice(0).map((key) =>
          getExternalWorkflowHandle(concurrencyWorkflowId(key))
            .signal(releasePermitSignal, { run_id: state.run_id })
            .catch(() => {
              // The key's workflow is gone: nobody holds or waits for it, this run included.
            }),
        ),
      ),
    );
  }

  return { acquire, releaseAll };
}

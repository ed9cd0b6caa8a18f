import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createConcurrencyActivities } from '../activities/concurrency.js';
import { concurrencyStateQuery, permitGrantedSignal, releasePermitSignal, requestPermitSignal, type PermitRequest } from './messages.js';

type ConcurrencyActivities = ReturnType<typeof createConcurrencyActivities>;

/**
 * A holder whose run workflow is gone without releasing (terminated by an admin) would keep its
 * permit forever: while runs wait, the holders are checked this often and the closed ones let go.
 */
const SWEEP_INTERVAL_MS = 30_000;
const { closedRuns } = proxyActivities<ConcurrencyActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });

/** What a key's workflow carries across continue-as-new. */
export interface ConcurrencyCarried {
  key: string;
  holders?: Array<{ run_id: string; workflow_id: string }>;
  waiting?: PermitRequest[];
}

/**
 * The semaphore of one concurrency key (`concurrency-<key>`): fleet-wide, durable (its state is its
 * history, so it survives any worker or API restart), and the only place that admits runs under the
 * key, so the limit is never exceeded. Waiting runs are admitted highest priority first, equal
 * priorities in arrival order, each when fewer than its own limit hold a permit. The workflow ends
 * when nobody holds or waits; the next request starts it afresh.
 */
export async function concurrencyWorkflow({ key, holders: carriedHolders = [], waiting: carriedWaiting = [] }: ConcurrencyCarried): Promise<void> {
  const holders = new Map<string, string>(carriedHolders.map((holder) => [holder.run_id, holder.workflow_id]));
  const waiting: PermitRequest[] = [...carriedWaiting];

  setHandler(concurrencyStateQuery, () => ({ key, holders: [...holders.keys()], waiting: waiting.map(({ run_id, priority, limit }) => ({ run_id, priority, limit })) }));

  setHandler(requestPermitSignal, (request) => {
    // A repeated request (a retried activity): a holder hears of its permit again, a waiter keeps its place.
    if (holders.has(request.run_id)) return tell(request.run_id, request.workflow_id);
    if (waiting.some((waiter) => waiter.run_id === request.run_id)) return;
    // After every waiter of the same or a higher priority.
    const at = waiting.findIndex((waiter) => waiter.priority < request.priority);
    waiting.splice(at < 0 ? waiting.length : at, 0, request);
    admit();
  });

  setHandler(releasePermitSignal, ({ run_id }) => {
    holders.delete(run_id);
    const at = waiting.findIndex((waiter) => waiter.run_id === run_id);
    if (at >= 0) waiting.splice(at, 1);
    admit();
  });

  /** The head of the line is admitted while there is room under its limit; nobody overtakes it. */
  function admit(): void {
    while (waiting.length && holders.size < waiting[0]!.limit) {
      const next = waiting.shift()!;
      holders.set(next.run_id, next.workflow_id);
      tell(next.run_id, next.workflow_id);
    }
  }

  function tell(runId: string, workflowId: string): void {
    getExternalWorkflowHandle(workflowId)
      .signal(permitGrantedSignal, { key })
      .catch(() => {
        // The run has ended: its permit goes to the next in line.
        holders.delete(runId);
        admit();
      });
  }

  while (holders.size || waiting.length) {
    if (workflowInfo().continueAsNewSuggested) break;
    const settled = () => (!holders.size && !waiting.length) || workflowInfo().continueAsNewSuggested;
    if (!waiting.length) {
      await condition(() => settled() || waiting.length > 0);
      continue;
    }
    if (await condition(settled, SWEEP_INTERVAL_MS)) continue;
    if (!holders.size) continue;
    const closed = new Set(await closedRuns([...holders.values()]));
    for (const [runId, workflowId] of [...holders]) if (closed.has(workflowId)) holders.delete(runId);
    admit();
  }
  await condition(allHandlersFinished);
  if (!holders.size && !waiting.length) return;
  await continueAsNew<typeof concurrencyWorkflow>({ key, holders: [...holders].map(([run_id, workflow_id]) => ({ run_id, workflow_id })), waiting });
}

import {
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  getExternalWorkflowHandle,
  log,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { isFinalRunStatus, type RunStatus } from '../core/contract/plain/run-status.js';
import type { ChildRun, RunInput, RunState } from '../core/contract/workflow-io.js';
import type { Budget } from '../core/contract/budget.js';
import { strictestBudget } from '../core/contract/plain/budget.js';
import { searchAttributes } from '../core/contract/search-attributes.js';
import { CHILD_LIMIT, PARENT_NOT_LIVE, RUN_WORKFLOW_TYPE, runWorkflowId, startChildUpdate, stopByParentSignal, type StartChildRequest } from './messages.js';

/**
 * A run's child runs: Temporal child workflows of the run's workflow (so the Temporal UI shows the
 * tree), started by the `startChild` update. An attached child is stopped through ao's own stop path
 * (`stopByParent`, its processes reaped) when its parent ends; a detached one is abandoned and lives on.
 */
export function createChildRuns(deps: { input: RunInput; state: RunState; stopRequested: () => boolean; budget: () => Budget | undefined }) {
  const { state } = deps;
  /** What each child spent, as it ended: a child's budget is what its parent's has left after its siblings. */
  const spent = new Map<string, number>();
  /**
   * A child never has more than its parent: at most the parent's turns, and the parent's cost limit
   * less what its children already spent. (The parent's own spend is metered on its runner, against
   * its own budget; the workflow does not see it as it goes.)
   */
  const childBudget = (requested: Budget | undefined): Budget | undefined => {
    const parent = deps.budget();
    if (!parent) return requested;
    const used = [...spent.values()].reduce((sum, cost) => sum + cost, 0);
    const left = parent.max_cost_usd === undefined ? undefined : Math.max(parent.max_cost_usd - used, 0);
    return strictestBudget(requested, { ...(parent.max_turns !== undefined ? { max_turns: parent.max_turns } : {}), ...(left !== undefined ? { max_cost_usd: left } : {}) });
  };
  /** Each child's depth: one below this run's. */
  const depth = (deps.input.parent?.depth ?? 0) + 1;
  /** Attached children's ends, waited for as this run ends. */
  const endings: Array<Promise<void>> = [];

  const refusal = (request: { limits: { max_depth: number; max_children: number } }): ApplicationFailure | undefined => {
    if (isFinalRunStatus(state.status)) return ApplicationFailure.create({ type: PARENT_NOT_LIVE, message: `run ${state.run_id} has already ended (${state.status}): it cannot start children`, nonRetryable: true });
    if (deps.stopRequested()) return ApplicationFailure.create({ type: PARENT_NOT_LIVE, message: `run ${state.run_id} is stopping: it cannot start children`, nonRetryable: true });
    if (depth > request.limits.max_depth) {
      return ApplicationFailure.create({ type: CHILD_LIMIT, message: `a child of run ${state.run_id} would be at depth ${depth}; at most ${request.limits.max_depth} levels of child runs are allowed (AO_MAX_CHILD_DEPTH)`, nonRetryable: true });
    }
    const left = childBudget(undefined)?.max_cost_usd;
    if (left !== undefined && left <= 0) {
      return ApplicationFailure.create({ type: CHILD_LIMIT, message: `run ${state.run_id}'s children have spent its whole budget (max_cost_usd ${deps.budget()?.max_cost_usd} USD): it cannot start more`, nonRetryable: true });
    }
    const count = state.children?.length ?? 0;
    if (count >= request.limits.max_children) {
      return ApplicationFailure.create({ type: CHILD_LIMIT, message: `run ${state.run_id} already started ${count} child runs, the most a run may (AO_MAX_CHILDREN_PER_RUN)`, nonRetryable: true });
    }
    return undefined;
  };

  setHandler(
    startChildUpdate,
    async (request) => {
      // Checked again: two starts in one activation both passed the validator before either was listed.
      const refused = refusal(request);
      if (refused) throw refused;
      const budget = childBudget(request.input.budget);
      const input: RunInput = { ...request.input, ...(budget ? { budget } : {}), parent: { run_id: state.run_id, depth, detached: request.detached } };
      const child: ChildRun = { run_id: input.run_id, status: 'pending', detached: request.detached };
      (state.children ??= []).push(child);
      let handle;
      try {
        handle = await startChild<(input: RunInput) => Promise<RunState>>(RUN_WORKFLOW_TYPE, {
          workflowId: runWorkflowId(input.run_id),
          args: [input],
          parentClosePolicy: request.detached ? ParentClosePolicy.ABANDON : ParentClosePolicy.REQUEST_CANCEL,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [
            { key: searchAttributes.agent, value: input.agent },
            { key: searchAttributes.runStatus, value: 'pending' },
            { key: searchAttributes.sessionId, value: input.session_id },
          ],
          staticSummary: request.summary,
          staticDetails: request.details,
        });
      } catch (error) {
        state.children = state.children.filter((entry) => entry !== child);
        throw ApplicationFailure.create({ type: PARENT_NOT_LIVE, message: `the child run did not start: ${error instanceof Error ? error.message : String(error)}`, nonRetryable: true });
      }
      const ended = handle.result().then(
          (ended) => {
            child.status = ended.status;
            spent.set(child.run_id, costOf(ended));
          },
          (error: unknown) => {
            child.status = finalStatusOf(error);
            spent.set(child.run_id, costOf(endedState(error)));
          },
        );
      if (!request.detached) endings.push(ended);
      return { run_id: input.run_id };
    },
    {
      validator: (request: StartChildRequest) => {
        const refused = refusal(request);
        if (refused) throw refused;
      },
    },
  );

  return {
    /** As the run ends: every attached child still going is stopped, and waited for; detached ones go on. */
    async endWithParent(): Promise<void> {
      const attached = (state.children ?? []).filter((child) => !child.detached && !isFinalRunStatus(child.status));
      await Promise.all(
        attached.map((child) =>
          getExternalWorkflowHandle(runWorkflowId(child.run_id))
            .signal(stopByParentSignal, { reason: `its parent run ${state.run_id} ended (${state.status})`, by: `run:${state.run_id}` })
            .catch((error: unknown) => log.warn(`could not stop child run ${child.run_id}: ${error instanceof Error ? error.message : String(error)}`)),
        ),
      );
      await Promise.all(endings);
    },
  };
}

/** The state a child's failure carries, when it carries one. */
function endedState(error: unknown): RunState | undefined {
  const cause = error instanceof ChildWorkflowFailure ? error.cause : undefined;
  return cause instanceof ApplicationFailure ? (cause.details?.[0] as RunState | undefined) : undefined;
}

/** A child's final status from how its workflow ended: the state its failure carries, else failed. */
function finalStatusOf(error: unknown): RunStatus {
  const ended = endedState(error);
  return ended && isFinalRunStatus(ended.status) ? ended.status : 'failed';
}

/** What an ended run cost, as its result tells (0 when it reported none). */
function costOf(ended: RunState | undefined): number {
  const cost = (ended?.result as { cost_usd?: unknown } | undefined)?.cost_usd;
  return typeof cost === 'number' && Number.isFinite(cost) ? cost : 0;
}

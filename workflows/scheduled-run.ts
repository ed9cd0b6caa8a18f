import { ChildWorkflowFailure, ParentClosePolicy, WorkflowIdReusePolicy, executeChild, workflowInfo } from '@temporalio/workflow';
import type { RunInput, RunState } from '../core/contract/workflow-io.js';
import type { ScheduledRunInput, ScheduledRunOutcome } from '../core/contract/schedules.js';
import { isRunStatus } from '../core/contract/plain/run-status.js';
import { searchAttributes } from '../core/contract/search-attributes.js';
import { CONTROL_TASK_QUEUE, RUN_WORKFLOW_TYPE, runWorkflowId, scheduleOrigin, scheduledRunId } from './messages.js';

/**
 * What a schedule starts each time it fires. The scheduler names each start
 * `<schedule workflow id>-<RFC 3339 time>` and passes the same arguments every time, so the run
 * gets its id from this workflow's own id (`<schedule>-<time>`: a valid run id, its own branch
 * and event log) and runs as an ordinary run workflow, abandoned by this one should it end. The
 * launcher waits for the run, so the schedule's overlap policy applies to runs, and returns how
 * it ended.
 */
export async function scheduledRunWorkflow(input: ScheduledRunInput): Promise<ScheduledRunOutcome> {
  const runId = scheduledRunId(input.schedule, workflowInfo().workflowId);
  const run: RunInput = {
    run_id: runId,
    agent: input.agent,
    parameters: input.parameters,
    session_id: runId,
    session_mode: 'new',
    created_by: `schedule ${input.schedule} (${input.created_by})`,
    created_at: new Date().toISOString(),
    ...(input.prompt !== undefined ? { prompt: input.prompt } : {}),
    ...(input.additional_demands ? { additional_demands: input.additional_demands } : {}),
    ...(input.timeout_seconds ? { timeout_seconds: input.timeout_seconds } : {}),
    ...(input.base_ref ? { base_ref: input.base_ref } : {}),
    ...(input.no_runner_timeout_seconds ? { no_runner_timeout_seconds: input.no_runner_timeout_seconds } : {}),
    ...(input.dispatch_timeout_seconds ? { dispatch_timeout_seconds: input.dispatch_timeout_seconds } : {}),
  };
  try {
    const state = await executeChild<(input: RunInput) => Promise<RunState>>(RUN_WORKFLOW_TYPE, {
      workflowId: runWorkflowId(runId),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [run],
      // The run is the run: stopping or deleting the schedule never ends it.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: searchAttributes.agent, value: run.agent },
        { key: searchAttributes.runStatus, value: 'pending' },
        { key: searchAttributes.sessionId, value: runId },
        { key: searchAttributes.origin, value: scheduleOrigin(input.schedule) },
      ],
      staticSummary: `${run.agent} (schedule ${input.schedule})`,
    });
    return { run_id: runId, status: state.status };
  } catch (error) {
    // A failed run fails with its final state in the details: its status is the outcome, not a launcher failure.
    if (error instanceof ChildWorkflowFailure) {
      const details = (error.cause as { details?: unknown[] } | undefined)?.details;
      const status = (details?.[0] as { status?: unknown } | undefined)?.status;
      return { run_id: runId, status: isRunStatus(status) ? status : 'unknown' };
    }
    throw error;
  }
}

import { ApplicationFailure, ChildWorkflowFailure, proxyActivities, setCurrentDetails, setHandler, startChild, upsertSearchAttributes, uuid4 } from '@temporalio/workflow';
import type { createFlowControlActivities } from '../activities/flow-control.js';
import type { Demands } from '../core/contract/demands.js';
import type { FlowInput, FlowRole, FlowRunState, FlowRunStatus, FlowStep, FlowStepState } from '../core/contract/flows.js';
import { isFinalFlowRunStatus, reviewOf } from '../core/contract/plain/flows.js';
import { searchAttributes } from '../core/contract/search-attributes.js';
import type { RunInput, RunState } from '../core/contract/workflow-io.js';
import { FLOW_FAILED, FLOW_NOT_STOPPABLE, flowStateQuery, runWorkflowId, stopFlowUpdate } from './messages.js';
import { causeMessage } from './cause-message.js';
import { onRunner, pullRequestTitle } from './pull-requests.js';
import { runWorkflow } from './run.js';

const { stopStepRun } = proxyActivities<ReturnType<typeof createFlowControlActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/**
 * A builder–reviewer flow: the builder's run changes code on a branch, the reviewer's run (another
 * provider, read-only) answers `approve` or `request_changes` through its output schema, and on
 * `request_changes` the builder's session resumes on its branch with the comments, for at most
 * `max_rounds` rounds. Each step is a child run workflow (`runWorkflow`), so the Temporal UI shows
 * them as this workflow's children. A flow approved with a `pull_request` pushes the branch and
 * opens one. A flow that cannot finish (a step failed, no verdict) fails with its state.
 */
export async function flowWorkflow(input: FlowInput): Promise<FlowRunState> {
  const { flow } = input;
  const state: FlowRunState = {
    flow_run_id: input.flow_run_id,
    flow: flow.name,
    status: 'running',
    prompt: input.prompt,
    max_rounds: flow.max_rounds,
    rounds: 0,
    steps: [],
    cost_usd: 0,
    history: [{ status: 'running', at: new Date().toISOString(), reason: 'started', ...(input.created_by ? { by: input.created_by } : {}) }],
    created_at: input.created_at,
    ...(input.created_by ? { created_by: input.created_by } : {}),
  };
  let stopBy: string | undefined;
  let stopRequested = false;
  /** The step that runs now: a stop stops it. */
  let current: FlowStepState | undefined;

  const transition = (status: FlowRunStatus, reason?: string, by?: string): void => {
    state.status = status;
    state.history.push({ status, at: new Date().toISOString(), ...(reason ? { reason } : {}), ...(by ? { by } : {}) });
    upsertSearchAttributes([{ key: searchAttributes.runStatus, value: status }]);
    setCurrentDetails(`**${status}**${reason ? ` — ${reason}` : ''} · round ${state.rounds} of ${state.max_rounds}`);
  };
  const failFlow = (message: string): ApplicationFailure => {
    state.error = message;
    transition('failed', message);
    return ApplicationFailure.create({ type: FLOW_FAILED, message, details: [state], nonRetryable: true });
  };

  setHandler(flowStateQuery, () => state);
  setHandler(
    stopFlowUpdate,
    ({ reason, by }) => {
      stopRequested = true;
      stopBy = by;
      transition('stopping', reason ?? 'stop requested', by);
      if (current) void stopStepRun({ run_id: current.run_id, reason: `the flow run ${input.flow_run_id} is stopping`, ...(by ? { by } : {}) });
      return { status: 'stopping' as const };
    },
    {
      validator: (_request) => {
        if (isFinalFlowRunStatus(state.status)) throw ApplicationFailure.create({ type: FLOW_NOT_STOPPABLE, message: `the flow run has already ended (${state.status})` });
        if (stopRequested) throw ApplicationFailure.create({ type: FLOW_NOT_STOPPABLE, message: 'a stop was already requested for this flow run' });
      },
    },
  );

  /** Runs one step as a child run workflow; answers its final state (completed, stopped or failed). */
  async function runStep(role: FlowRole, step: FlowStep, prompt: string, session: Pick<RunInput, 'session_id' | 'session_mode'>, extra: { demands?: Partial<Demands>; base_ref?: string }): Promise<{ record: FlowStepState; run: RunState }> {
    const runId = uuid4();
    const record: FlowStepState = { role, round: state.rounds, run_id: runId, agent: step.agent, status: 'pending' };
    state.steps.push(record);
    current = record;
    const demands = mergeDemands(input.additional_demands, step.additional_demands, extra.demands);
    const runInput: RunInput = {
      run_id: runId,
      agent: step.agent,
      prompt,
      parameters: {},
      ...session,
      created_at: new Date().toISOString(),
      created_by: input.created_by ?? `flow:${flow.name}`,
      ...(demands ? { additional_demands: demands } : {}),
      ...(extra.base_ref ? { base_ref: extra.base_ref } : {}),
      ...(step.policy ? { policy: step.policy } : {}),
    };
    let run: RunState;
    try {
      const child = await startChild(runWorkflow, {
        workflowId: runWorkflowId(runId),
        args: [runInput],
        typedSearchAttributes: [
          { key: searchAttributes.agent, value: step.agent },
          { key: searchAttributes.runStatus, value: 'pending' },
          { key: searchAttributes.sessionId, value: runInput.session_id },
        ],
        staticSummary: `${flow.name} ${role}, round ${state.rounds}: ${step.agent}`,
      });
      record.status = 'running';
      // A stop that came while the child was starting found no run to stop: it is passed on now.
      if (stopRequested) void stopStepRun({ run_id: runId, reason: `the flow run ${input.flow_run_id} is stopping`, ...(stopBy ? { by: stopBy } : {}) });
      run = await child.result();
    } catch (error) {
      const failed = error instanceof ChildWorkflowFailure && error.cause instanceof ApplicationFailure ? (error.cause.details?.[0] as RunState | undefined) : undefined;
      if (!failed) throw error;
      run = failed;
    } finally {
      current = undefined;
    }
    record.status = run.status;
    const cost = (run.result as { cost_usd?: unknown } | undefined)?.cost_usd;
    if (typeof cost === 'number' && Number.isFinite(cost)) {
      record.cost_usd = cost;
      state.cost_usd += cost;
    }
    if (run.workspace?.branch) record.branch = run.workspace.branch;
    if (run.error) record.error = run.error.message;
    return { record, run };
  }

  try {
    const builderSession = `flow-${input.flow_run_id}-builder`;
    let builder: RunState | undefined;
    let firstBase: string | undefined;
    let prompt = input.prompt;
    while (state.rounds < flow.max_rounds) {
      if (stopRequested) break;
      state.rounds += 1;
      transition('running', `round ${state.rounds}: ${flow.builder.agent} builds`);
      const built = await runStep(
        'builder',
        flow.builder,
        prompt,
        { session_id: builderSession, session_mode: builder ? 'resume' : 'new' },
        {
          // Round 2 on: the builder's session continues on its runner, from its last branch.
          ...(builder?.runner ? { demands: { hostname: builder.runner.hostname, project_dir: builder.runner.project_dir, executor_profile: builder.runner.executor_profile } } : {}),
          ...(builder?.workspace?.branch ? { base_ref: builder.workspace.branch } : input.base_ref ? { base_ref: input.base_ref } : {}),
        },
      );
      if (built.run.status === 'stopped' || stopRequested) break;
      if (built.run.status !== 'completed') throw failFlow(`the builder's run ${built.record.run_id} ${built.run.status}: ${built.run.error?.message ?? 'no reason given'}`);
      builder = built.run;
      const workspace = builder.workspace;
      if (!workspace?.branch || !workspace.head_commit || !builder.runner) throw failFlow(`the builder's run ${built.record.run_id} left no branch to review: its agent must work in a git worktree`);
      firstBase ??= workspace.base_commit;
      state.branch = workspace.branch;
      state.head_commit = workspace.head_commit;
      if (firstBase) state.base_commit = firstBase;
      if (workspace.diff) state.diff = workspace.diff;
      if (firstBase && firstBase !== workspace.base_commit) {
        // The whole change since the first round, read where the branch is.
        const runnerId = builder.runner.runner_id;
        state.diff = await onRunner(runnerId).branchDiff({ base: firstBase, head: workspace.head_commit }).catch((error: unknown) => {
          // The runner is gone: the last round's own diff is what is known.
          state.history.push({ status: state.status, at: new Date().toISOString(), reason: `the whole diff could not be read on runner ${runnerId} (${causeMessage(error)}); this round's is shown` });
          return workspace.diff;
        });
      }

      if (stopRequested) break;
      transition('running', `round ${state.rounds}: ${flow.reviewer.agent} reviews ${workspace.branch}`);
      const reviewed = await runStep(
        'reviewer',
        flow.reviewer,
        reviewPrompt(input.prompt, state, state.rounds),
        { session_id: `flow-${input.flow_run_id}-review-${state.rounds}`, session_mode: 'new' },
        // The reviewer reads the builder's branch in the same project: its own worktree starts at the branch's head.
        { demands: { hostname: builder.runner.hostname, project_dir: builder.runner.project_dir }, base_ref: workspace.branch },
      );
      if (reviewed.run.status === 'stopped' || stopRequested) break;
      if (reviewed.run.status !== 'completed') throw failFlow(`the reviewer's run ${reviewed.record.run_id} ${reviewed.run.status}: ${reviewed.run.error?.message ?? 'no reason given'}`);
      const review = reviewOf((reviewed.run.result as { output?: unknown } | undefined)?.output);
      if (!review) throw failFlow(`the reviewer's run ${reviewed.record.run_id} answered no verdict: its agent needs an output_schema asking for { verdict, comments }`);
      reviewed.record.review = review;
      state.verdict = review.verdict;
      state.comments = review.comments;
      if (review.verdict === 'approve') break;
      prompt = changesPrompt(flow.reviewer.agent, review.comments);
    }

    if (stopRequested) {
      transition('stopped', 'stopped on request', stopBy);
      return state;
    }
    if (state.verdict === 'approve' && flow.pull_request && input.open_pull_request && builder?.runner && state.branch) {
      transition('running', `opening a pull request for ${state.branch}`);
      const pullRequest = flow.pull_request;
      try {
        const opened = await onRunner(builder.runner.runner_id).openPullRequest({
          branch: state.branch,
          ...(input.base_ref ? { base: input.base_ref } : {}),
          title: pullRequestTitle(input.prompt),
          body: pullRequestBody(state, flow.reviewer.agent),
          remote: pullRequest.remote,
          command: pullRequest.command,
        });
        state.pull_request = opened;
      } catch (error) {
        throw failFlow(`the reviewer approved ${state.branch}, but its pull request was not opened: ${causeMessage(error)}`);
      }
    }
    transition('completed', state.verdict === 'approve' ? `approved in round ${state.rounds}` : `no approval after ${state.rounds} round(s): the last verdict was ${state.verdict ?? 'none'}`);
    return state;
  } catch (error) {
    // Whatever else went wrong (a runner-side step that could not run, say) fails the flow run with its state, as a step's failure does.
    if (error instanceof ApplicationFailure && error.type === FLOW_FAILED) throw error;
    throw failFlow(causeMessage(error));
  }
}

/** Demands of a step: the flow run's, the step's, then the flow's own (runner affinity); tags are unioned. */
function mergeDemands(...parts: Array<Partial<Demands> | undefined>): Partial<Demands> | undefined {
  const present = parts.filter((part): part is Partial<Demands> => part !== undefined);
  if (!present.length) return undefined;
  const tags = [...new Set(present.flatMap((part) => part.tags ?? []))];
  return Object.assign({}, ...present, { tags }) as Partial<Demands>;
}

/** What the reviewer is asked: the task, where the change is, and what to answer. */
function reviewPrompt(task: string, state: FlowRunState, round: number): string {
  const files = state.diff?.files.map((file) => `- ${file.path} (+${file.added} −${file.removed})`).join('\n') || '- (no files changed)';
  return [
    `Review a change (round ${round}). The task the builder was given:`,
    '',
    task,
    '',
    `The change is on branch ${state.branch}; your working folder is at its head (${state.head_commit}).`,
    state.base_commit ? `See the whole change with: git diff ${state.base_commit} ${state.head_commit}` : undefined,
    'Files changed:',
    files,
    '',
    'Do not change any file. Answer "approve" when the change does what was asked; otherwise "request_changes", with one comment per thing to fix.',
  ]
    .filter((line): line is string => line !== undefined)
    .join('\n');
}

/** What the builder's resumed session is told on `request_changes`. */
function changesPrompt(reviewer: string, comments: string[]): string {
  return [`The reviewer (${reviewer}) asked for changes:`, ...comments.map((comment) => `- ${comment}`), '', 'Make them on this branch.'].join('\n');
}

function pullRequestBody(state: FlowRunState, reviewer: string): string {
  return [
    state.prompt,
    '',
    `Built and reviewed by ao flow ${state.flow} (run ${state.flow_run_id}): approved by ${reviewer} in round ${state.rounds} of ${state.max_rounds}.`,
    ...(state.diff ? [`${state.diff.files_changed} file(s) changed, +${state.diff.added} −${state.diff.removed}.`] : []),
  ].join('\n');
}

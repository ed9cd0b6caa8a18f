import { proxyActivities } from '@temporalio/workflow';
import type { createFlowRunnerActivities } from '../activities/flow-runner.js';
import type { PullRequestConfig, PullRequestOutcome } from '../core/contract/pull-requests.js';
import type { RunInput, RunState } from '../core/contract/workflow-io.js';
import { causeMessage } from './cause-message.js';
import { runnerTaskQueue } from './messages.js';

type FlowRunnerActivities = ReturnType<typeof createFlowRunnerActivities>;

/** The runner-side steps (diff, pull request) go to the runner whose project holds the branch. */
export const onRunner = (runnerId: string) =>
  proxyActivities<FlowRunnerActivities>({
    taskQueue: runnerTaskQueue(runnerId),
    scheduleToStartTimeout: '1 minute',
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
  });

/** How much of the prompt a pull request's title takes. */
const TITLE_CHARS = 72;

/** The prompt's first line, cut to a title's length; empty for an empty prompt. */
export function pullRequestTitle(prompt: string): string {
  const line = prompt.trim().split('\n', 1)[0] ?? '';
  return line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1).trimEnd()}…` : line;
}

/** What a completed run can propose: its branch and the runner whose project holds it, or why it has nothing (no commits on a worktree branch). */
export function proposal({ workspace, runner }: RunState): { branch: string; runnerId: string } | { nothing: string } {
  if (workspace?.branch_deleted) return { nothing: 'the run changed nothing (its empty branch was deleted)' };
  if (!workspace?.branch || !runner) return { nothing: `the run worked in ${workspace ? `a ${workspace.mode} folder` : 'no workspace'}, not a git worktree: it has no branch` };
  if (!workspace.head_commit || workspace.head_commit === workspace.base_commit) return { nothing: `the run committed nothing on ${workspace.branch}` };
  return { branch: workspace.branch, runnerId: runner.runner_id };
}

/**
 * The end of a completed run whose agent defines a pull request: its branch pushed and the forge
 * command run on its runner, whose project holds the branch. Answers the outcome, or why it was not opened.
 */
export async function openRunPullRequest(input: RunInput, state: RunState, config: PullRequestConfig, { branch, runnerId }: { branch: string; runnerId: string }): Promise<{ opened: PullRequestOutcome } | { failed: string }> {
  const prompt = input.prompt?.trim() ?? '';
  try {
    const opened = await onRunner(runnerId).openPullRequest.executeWithOptions({ summary: `push ${branch} to ${config.remote} and open its pull request` }, [
      {
        branch,
        ...(input.base_ref ? { base: input.base_ref } : {}),
        title: pullRequestTitle(prompt) || `ao: run ${input.run_id} of ${input.agent}`,
        body: pullRequestBody(input, state),
        remote: config.remote,
        command: config.command,
      },
    ]);
    return { opened };
  } catch (error) {
    return { failed: `the run's work is on branch ${branch}, but its pull request was not opened: ${causeMessage(error)}` };
  }
}

function pullRequestBody(input: RunInput, state: RunState): string {
  const diff = state.workspace?.diff;
  return [
    input.prompt?.trim() || `(agent ${input.agent} ran without a prompt)`,
    '',
    `Made by ao run ${input.run_id} of agent ${input.agent}${input.created_by ? `, started by ${input.created_by}` : ''}.`,
    ...(diff ? [`${diff.files_changed} file(s) changed, +${diff.added} −${diff.removed}.`] : []),
  ].join('\n');
}


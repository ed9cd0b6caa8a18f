import { runFailure } from '../../core/contract/failures.js';
import { describeHookFailure, runHooks, type HookRun } from '../hooks.js';
import { finishWorkspace, type Workspace, type WorkspaceOutcome } from '../workspace.js';
import type { Emit, ExecuteDependencies, ExecuteRequest } from './context.js';

/** What every hook of a run reads on stdin. */
export const hookInput = (deps: ExecuteDependencies, request: ExecuteRequest, workspace: Workspace) => ({
  run: request,
  workspace,
  runner: { runner_id: deps.registration.runner_id, hostname: deps.registration.hostname },
});

function report(deps: ExecuteDependencies, emit: Emit, runs: HookRun[], runId: string): void {
  for (const run of runs) {
    emit('hook_run', { ...run });
    deps.log.hook(run, runId);
  }
}

/** Runs the `pre_run` hooks; a failing one ends the run with `HOOK_FAILED` before the executor starts. */
export async function runPreRunHooks(deps: ExecuteDependencies, request: ExecuteRequest, workspace: Workspace, emit: Emit): Promise<void> {
  const runs = await runHooks(deps.hooks, 'pre_run', hookInput(deps, request, workspace), workspace.dir);
  report(deps, emit, runs, request.run_id);
  const failed = runs.find((run) => !run.passed);
  if (!failed) return;
  await finishWorkspace(workspace, request.run_id, { commit: true, remove: true }).catch(() => undefined);
  throw runFailure('HOOK_FAILED', describeHookFailure(failed));
}

/** Runs the `post_run` hooks with the outcome; a failing one raises an alert, the run's outcome stands. */
export async function runPostRunHooks(
  deps: ExecuteDependencies,
  request: ExecuteRequest,
  workspace: Workspace,
  outcome: { exit_code: number | null; aborted: boolean; timed_out: boolean },
  summary: WorkspaceOutcome | undefined,
  emit: Emit,
): Promise<void> {
  const runs = await runHooks(deps.hooks, 'post_run', { ...hookInput(deps, request, workspace), outcome, workspace: summary }, deps.registration.project_dir);
  report(deps, emit, runs, request.run_id);
  for (const run of runs) if (!run.passed) emit('alert', { message: describeHookFailure(run) });
}

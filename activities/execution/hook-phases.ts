import path from 'node:path';
import { Context, heartbeat } from '@temporalio/activity';
import { runFailure } from '../../core/contract/failures.js';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../executors/approval-policy.js';
import { describeHookFailure, runHooks, type HookRun } from '../hooks.js';
import { ApprovalDesk, type ApprovalReporter } from './approval-desk.js';
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

/** The approval's tool name and rule when a failing `pre_run` hook is put to an operator. */
export const PRE_RUN_HOOK_TOOL = 'pre_run hook';
const ASK_RULE = 'lifecycle.pre_run.on_failure: ask';
const HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * Runs the `pre_run` hooks; a failing one ends the run with `HOOK_FAILED` before the executor
 * starts, or, when the profile says `on_failure: ask`, is put to an operator as an approval first:
 * allowed, the run goes on; denied (or unanswered in time), it fails with the hook's failure.
 */
export async function runPreRunHooks(deps: ExecuteDependencies, request: ExecuteRequest, workspace: Workspace, emit: Emit, reporter: ApprovalReporter): Promise<void> {
  const runs = await runHooks(deps.hooks, 'pre_run', hookInput(deps, request, workspace), workspace.dir);
  report(deps, emit, runs, request.run_id);
  const failed = runs.find((run) => !run.passed);
  if (!failed) return;
  const failure = describeHookFailure(failed);
  if (deps.profile.lifecycle?.pre_run?.on_failure === 'ask' && (await operatorAllows(deps, request.run_id, failed, failure, emit, reporter))) return;
  await finishWorkspace(workspace, request.run_id, { commit: true, remove: true }).catch(() => undefined);
  throw runFailure('HOOK_FAILED', failure);
}

/** Asks an operator whether the run goes on despite the failed hook, over the same approval path as a tool use. */
async function operatorAllows(deps: ExecuteDependencies, runId: string, failed: HookRun, failure: string, emit: Emit, reporter: ApprovalReporter): Promise<boolean> {
  const timeoutSeconds = deps.profile.lifecycle?.pre_run?.approval_timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  // No run clock runs yet: the executor has not started.
  const desk = new ApprovalDesk({ requiredTools: ['*'], timeoutSeconds, onTimeout: 'deny' }, { emit, redactor: deps.redactor, reporter, clock: { pause: () => undefined, resume: () => undefined } });
  const unregister = deps.live.register(runId, (command) =>
    command.kind === 'approval_decision' ? desk.handle(command) : { delivered: false, reason: `${command.kind} is not handled while a pre_run hook's failure waits for an operator` },
  );
  // The activity heartbeats while it waits (its heartbeat timeout would end it), and a stop withdraws the question.
  const beat = setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
  const { cancellationSignal } = Context.current();
  const onStop = (): void => desk.close('the run was stopped');
  cancellationSignal.addEventListener('abort', onStop, { once: true });
  try {
    const answer = await desk.askWithRule(
      { tool: PRE_RUN_HOOK_TOOL, input: { hook: path.basename(failed.file), exit_code: failed.exit_code, timed_out: failed.timed_out, failure } },
      'pre_run',
      `${ASK_RULE} (continue the run despite: ${failure.slice(0, 500)})`,
    );
    return answer.behavior === 'allow';
  } finally {
    clearInterval(beat);
    cancellationSignal.removeEventListener('abort', onStop);
    unregister();
  }
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
  for (const run of runs) if (!run.passed) emit('alert', { kind: 'hook_failed', message: describeHookFailure(run) });
}

import { ApplicationFailure, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import { secondsSince } from '../core/observability/metrics.js';
import { runFailure } from '../core/contract/failures.js';
import { secretValues } from '../core/contract/secrets.js';
import type { ExecutionResult } from '../core/contract/workflow-io.js';
import type { PriceTable } from '../core/contract/usage.js';
import type { ApprovalRequest } from '../core/contract/approvals.js';
import type { LiveControls } from '../core/contract/runner-commands.js';
import {
  RUNNER_SHUTDOWN,
  approvalRequestedSignal,
  approvalWithdrawnSignal,
  executorSessionSignal,
  executionAftermathSignal,
  executorStartedSignal,
  runWorkflowId,
} from '../workflows/messages.js';
import { openConversation } from './execution/conversation.js';
import { holdExecution } from './execution/live-control.js';
import { commitAndCloseWorkspace } from './execution/close-workspace.js';
import { aftermathOf, lastMessageOf, type Aftermath } from './execution/aftermath.js';
import type { Attempt, Emit, ExecuteDependencies, ExecuteProgress, ExecuteRequest } from './execution/context.js';
import { runPostRunHooks, runPreRunHooks } from './execution/hook-phases.js';
import { planLaunch } from './execution/launch.js';
import { executionResult, sessionEndOutcome } from './execution/outcome.js';
import { redactFailure } from './execution/redacted-failure.js';
import { inProjectTurn } from './execution/project-turn.js';
import { stdoutToEvents } from './execution/stdout-events.js';
import { shapeEvents } from './execution/event-shaping.js';
import { meterBudget, type BudgetMeter } from './execution/budget-meter.js';
import { strictestBudget } from '../core/contract/budget.js';
import { superviseExecutor } from './execution/supervised-process.js';
import { ExecutorUserError } from './containment/executor-user.js';
import { openToExecutor } from './execution/executor-access.js';
import { WorkspaceError, chooseMode, prepareWorkspace, type Workspace, type WorktreeOptions } from './workspace.js';
import { runHasEnded } from '../core/temporal/run-state.js';
import { fetchMissingBase } from './forge.js';

export type { ExecuteDependencies, ExecuteRequest } from './execution/context.js';

/**
 * Runs one run on this runner: workspace, pre_run hooks, the executor process, then the diff,
 * the workspace cleanup and post_run hooks. Cancelling the activity (a stop) or reaching the run's
 * timeout ends every process of the run (its cgroup, or its process group and the descendants
 * found); the activity returns only once they are gone. A retried attempt (the runner crashed and
 * came back) ends what the dead attempt left running and continues in the same worktree with the
 * same executor session. What it returns or throws has every secret redacted.
 */
export async function executeRun(deps: ExecuteDependencies, request: ExecuteRequest): Promise<ExecutionResult> {
  const { info } = Context.current();
  const attempt: Attempt = { number: info.attempt, ...(info.attempt > 1 ? { previous: info.heartbeatDetails as ExecuteProgress | undefined } : {}) };
  const emit: Emit = (kind, data) => deps.events.emit(request.run_id, attempt.number, kind, data);
  const measure = measureRun(deps, request, info);
  const started = Date.now();
  try {
    const { mode, workspace } = await openWorkspace(deps, request);
    const work = (): Promise<ExecutionResult> => runInWorkspace(deps, request, workspace, attempt, emit, measure.stopReached);
    deps.log.runStarted(request.run_id, request.agent.name, workspace.dir);
    const result = await (mode === 'project' ? inProjectTurn(deps.projectLock, work) : work());
    deps.log.runEnded(request.run_id, 'completed', Date.now() - started);
    measure.ended('completed');
    return result;
  } catch (error) {
    const redacted = redactFailure(error, deps.redactor);
    const status = error instanceof CancelledFailure || (error instanceof ApplicationFailure && error.type === 'STOPPED') ? 'stopped' : 'failed';
    deps.log.runEnded(request.run_id, status, Date.now() - started, (redacted as Error).message);
    // A run this runner gives back (its shutdown, or cut off from Temporal) goes on elsewhere: not a failure of the run.
    measure.ended(error instanceof ApplicationFailure && HANDED_BACK.has(error.type ?? '') ? 'handed_back' : status);
    throw redacted;
  }
}

/**
 * The run's figures on this runner's metrics: its slot, its start and end, the queue wait (taken
 * now) and, on a stop, how long the runner took from the stop reaching it to the run's end.
 */
/** Failure types with which this runner hands a run back to the workflow, which dispatches it again. */
const RUNNER_CUT_OFF = 'RUNNER_CUT_OFF';
const HANDED_BACK = new Set<string>([RUNNER_SHUTDOWN, RUNNER_CUT_OFF]);

function measureRun(deps: ExecuteDependencies, request: ExecuteRequest, info: ReturnType<typeof Context.current>['info']) {
  const labels = { agent: request.agent.name, profile: deps.registration.executor_profile };
  const releaseSlot = deps.metrics.holdSlot();
  deps.metrics.runsStarted.inc(labels);
  // The first attempt only: a retry after a crash is not the run waiting for a runner.
  if (info.attempt === 1 && request.created_at) deps.metrics.queueWait.observe({ profile: labels.profile }, secondsSince(request.created_at));
  let stopReachedAt: number | undefined;
  // A stop reaches the runner over the command path, or (the backstop) as the activity's cancellation: the first counts.
  const onStop = (): void => {
    stopReachedAt ??= Date.now();
  };
  const { cancellationSignal } = Context.current();
  cancellationSignal.addEventListener('abort', onStop, { once: true });
  return {
    stopReached: onStop,
    ended(status: 'completed' | 'failed' | 'stopped' | 'handed_back'): void {
      cancellationSignal.removeEventListener('abort', onStop);
      releaseSlot();
      deps.metrics.runsEnded.inc({ ...labels, status });
      if (status === 'stopped' && stopReachedAt !== undefined) deps.metrics.stopLatency.observe({ profile: labels.profile }, secondsSince(stopReachedAt));
    },
  };
}

/** The run's folder, in the agent's or the profile's workspace mode; git's refusal is `WORKSPACE_FAILED`. */
async function openWorkspace(deps: ExecuteDependencies, request: ExecuteRequest): Promise<{ mode: Workspace['mode']; workspace: Workspace }> {
  const { project_dir: projectDir } = deps.registration;
  try {
    const mode = await chooseMode(projectDir, request.workspace_mode ?? deps.profile.config.workspace_mode);
    const user = deps.executorUser;
    const open = user ? (workspace: Workspace) => openToExecutor(user, workspace, deps.dataDir) : undefined;
    // A base the clone lacks (a webhook's commit) is fetched first, with the runner's forge credential.
    const fetched = mode === 'worktree' && request.base_ref ? await fetchMissingBase(projectDir, request.base_ref, deps.forge) : undefined;
    const baseRef = fetched ?? request.base_ref;
    const options: WorktreeOptions = {
      ...(baseRef ? { baseRef } : {}),
      ...(request.workspace_key ? { key: request.workspace_key } : {}),
      isFinished: (runId) => runHasEnded(deps.client, runWorkflowId(runId)),
    };
    return { mode, workspace: await prepareWorkspace(projectDir, request.run_id, mode, options, open) };
  } catch (error) {
    if (error instanceof WorkspaceError || error instanceof ExecutorUserError) throw runFailure('WORKSPACE_FAILED', error.message);
    throw error;
  }
}

/** The phases of a run in its workspace, in order. */
async function runInWorkspace(deps: ExecuteDependencies, request: ExecuteRequest, workspace: Workspace, attempt: Attempt, emitRaw: Emit, onStop: () => void): Promise<ExecutionResult> {
  const shaped = shapeEvents(emitRaw, workspace.dir);
  const meter = runMeter(deps, request, shaped.emit);
  const lastMessage = lastMessageOf(meter.emit);
  const { emit } = lastMessage;
  emit('state_changed', {
    phase: 'workspace_ready',
    mode: workspace.mode,
    dir: workspace.dir,
    reused: workspace.reused === true,
    ...(workspace.branch ? { branch: workspace.branch } : {}),
  });
  const report = workflowReporter(deps, request.run_id);
  if (!attempt.previous) await runPreRunHooks(deps, request, workspace, emit, report);
  const launch = await planLaunch(deps, request, workspace, attempt);
  if (launch.adapter.capabilities.structured_events) shaped.expectSessionReport();
  // The policy the run is held to: the profile's and the request's merged (GET /runs/:id shows the request's alone).
  if (launch.invocation.policy) emit('state_changed', { phase: 'policy', policy: launch.invocation.policy });
  if (launch.mcpUnavailable) emit('alert', { message: `the agent runs without ao's MCP server (no child runs): ${launch.mcpUnavailable}` });
  // A crashed attempt's executor may still run: end it before this attempt starts its own.
  if (attempt.number > 1) await deps.containment.endPreviousAttempt(request.run_id, attempt.previous ?? {});
  const container = await deps.containment.forRun(request.run_id);
  // The executor's own environment additions are secrets too, besides the runner's.
  const redactor = deps.redactor.with(secretValues(launch.env));
  const timeoutSeconds = runTimeoutSeconds(request.timeout_seconds, deps.profile.config.timeout_seconds);
  const progress: ExecuteProgress = { ...(launch.sessionId ? { session_id: launch.sessionId } : {}), ...(container.cgroup ? { cgroup: container.cgroup } : {}) };
  const conversation = launch.conversation || launch.supervision
    ? openConversation({ adapter: launch.adapter, invocation: launch.invocation, policy: launch.supervision, emit, redactor, reporter: report })
    : undefined;
  // Every execution, conversing or not, takes its workflow's commands (pause, resume, stop, input).
  const held = holdExecution({
    runId: request.run_id,
    adapter: launch.adapter,
    executorType: deps.profile.type,
    live: deps.live,
    emit,
    redactor,
    ...(conversation ? { conversation: conversation.handle } : {}),
    onStop,
  });
  const supervised = await superviseExecutor({
    launch,
    cwd: workspace.dir,
    ...(deps.executorUser ? { runAs: deps.executorUser } : {}),
    container,
    redactor,
    killGraceMs: deps.killGraceMs,
    contact: deps.contact,
    ...(timeoutSeconds ? { timeoutSeconds } : {}),
    progress,
    onStdout: stdoutToEvents(conversation?.parseLine ?? launch.adapter.parseLine?.bind(launch.adapter), emit, (sessionId) => {
      // Bound to the run as soon as the executor reports it: a resumed attempt continues it.
      progress.session_id = sessionId;
      heartbeat(progress);
      report.session(sessionId);
    }),
    onStderr: (text) => emit('terminal_chunk', { stream: 'stderr', text, ...(isNoise(launch.adapter.stderrNoise, text) ? { noise: true } : {}) }),
    onStart: (pid) => {
      const { registration, profile } = deps;
      emit('session_started', { pid, attempt: attempt.number, executor_type: profile.type, runner_id: registration.runner_id, ...(launch.sessionId ? { session_id: launch.sessionId } : {}) });
      const { input, steer, interrupt } = launch.adapter.capabilities;
      report.started(pid, attempt, launch.sessionId, { input, steer, interrupt });
      if (attempt.number === 1 && request.created_at) deps.metrics.dispatchLatency.observe({ profile: registration.executor_profile }, secondsSince(request.created_at));
    },
    ...(conversation ? { conversation: conversation.wiring } : {}),
    onControls: (controls) => {
      held.attach(controls);
      meter.attach(controls);
    },
  }).finally(async () => {
    held.release();
    conversation?.close('the executor ended before the approval was answered');
    // What was written for this run alone; a file left behind is harmless, so its removal never fails the run.
    await launch.adapter.release?.(launch.invocation, launch.where).catch((error: Error) => deps.log.error(`${request.run_id}: cannot remove its executor files: ${error.message}`, request.run_id));
  });
  const { outcome } = supervised;
  emit('session_ended', { exit_code: outcome.exitCode, signal: outcome.signal, duration_ms: supervised.durationMs, outcome: sessionEndOutcome(supervised) });
  if (supervised.cutOffMs !== undefined) {
    const message = `runner ${deps.registration.runner_id} had no contact with Temporal for ${Math.round(supervised.cutOffMs / 1000)}s; it ended the run's processes, so the run never runs in two places`;
    deps.log.error(`${request.run_id}: ${message}`, request.run_id);
    throw runnerCutOff(message);
  }
  if (outcome.aborted && !supervised.timedOut && Context.current().cancellationDetails?.workerShutdown) {
    // The run goes to another runner; this worktree stays until it is pruned.
    throw runnerShutdown(deps.registration.runner_id);
  }
  const summary = await commitAndCloseWorkspace(deps, request.run_id, workspace, emit);
  await runPostRunHooks(deps, request, workspace, { exit_code: outcome.exitCode, aborted: outcome.aborted, timed_out: supervised.timedOut }, summary, emit);
  const overBudget = meter.exceeded();
  if (overBudget) {
    await report.aftermath(redactor.value(aftermathOf(launch, supervised, summary, lastMessage.text(), meter.usage(), request.session_cost_usd_before)));
    throw redactFailure(budgetExceeded(overBudget, meter, summary), redactor);
  }
  try {
    return redactor.value(executionResult(launch, supervised, timeoutSeconds, summary, emit, shaped.toolErrors(), request.session_cost_usd_before));
  } catch (error) {
    // Failed or stopped: what it did stays on the run, told to the workflow before the failure is.
    await report.aftermath(redactor.value(aftermathOf(launch, supervised, summary, lastMessage.text(), meter.usage(), request.session_cost_usd_before)));
    throw redactFailure(error, redactor);
  }
}

/** The run's meter: its usage added up as it comes, its budget (the profile's merged with the request's) enforced. */
function runMeter(deps: ExecuteDependencies, request: ExecuteRequest, emit: Emit): BudgetMeter {
  const config = deps.profile.config as { model?: unknown; prices?: PriceTable };
  const budget = strictestBudget(deps.profile.budget, request.budget);
  return meterBudget(emit, {
    ...(budget ? { budget } : {}),
    ...(typeof config.model === 'string' ? { model: config.model } : {}),
    ...(config.prices ? { prices: config.prices } : {}),
    ...(request.session_cost_usd_before !== undefined ? { sessionCostBefore: request.session_cost_usd_before } : {}),
  });
}

/** `BUDGET_EXCEEDED`, with what the run did before it was stopped: its usage and cost so far, its workspace. */
function budgetExceeded(reason: string, meter: BudgetMeter, workspace: ExecutionResult['workspace']): ApplicationFailure {
  const usage = meter.usage();
  const resultData = { usage, ...(usage.cost_usd !== undefined ? { cost_usd: usage.cost_usd } : {}), budget_exceeded: reason };
  return runFailure('BUDGET_EXCEEDED', `${reason}; the runner stopped it`, [{ ...(workspace ? { workspace } : {}), result_data: resultData }]);
}

/** Whether every line of a stderr chunk is the CLI's own chatter. */
function isNoise(noise: RegExp | undefined, text: string): boolean {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  return noise !== undefined && lines.length > 0 && lines.every((line) => noise.test(line));
}

/** The shorter of the run's own timeout and the profile's cap. */
function runTimeoutSeconds(...limits: Array<number | undefined>): number | undefined {
  const set = limits.filter((value): value is number => value !== undefined && value > 0);
  return set.length ? Math.min(...set) : undefined;
}

/** Tells the run's workflow what it shows while the run goes on (fire-and-forget signals). */
function workflowReporter(deps: ExecuteDependencies, runId: string) {
  const handle = deps.client.workflow.getHandle(runWorkflowId(runId));
  const { log } = Context.current();
  const warn = (what: string) => (error: unknown): void => {
    log.warn(`could not report ${what}`, { error });
  };
  return {
    session: (sessionId: string): void => void handle.signal(executorSessionSignal, { session_id: sessionId }).catch(warn('the executor session')),
    /** Awaited: the signal must be in the run's history before the activity's failure. */
    aftermath: (aftermath: Aftermath): Promise<void> => handle.signal(executionAftermathSignal, aftermath).catch(warn('what the run left')),
    started: (pid: number, attempt: Attempt, sessionId: string | undefined, controls: LiveControls): void =>
      void handle
        .signal(executorStartedSignal, { pid, started_at: new Date().toISOString(), attempt: attempt.number, controls, ...(attempt.previous && sessionId ? { resumed_session: sessionId } : {}) })
        .catch(warn('executor start')),
    requested: (approval: ApprovalRequest): void => void handle.signal(approvalRequestedSignal, approval).catch(warn('an approval request')),
    withdrawn: (approvalId: string, reason: string): void => void handle.signal(approvalWithdrawnSignal, { approval_id: approvalId, reason }).catch(warn('a withdrawn approval')),
  };
}

/**
 * Retried like a crash: when the attempt has timed out meanwhile, Temporal ignores it (the run
 * was handed over); otherwise this runner's retry resumes the run.
 */
const runnerCutOff = (message: string): ApplicationFailure => ApplicationFailure.create({ type: RUNNER_CUT_OFF, message, nonRetryable: false });

/** Not a run failure: the workflow hands the run to another runner. */
const runnerShutdown = (runnerId: string): ApplicationFailure =>
  ApplicationFailure.create({ type: RUNNER_SHUTDOWN, message: `runner ${runnerId} shut down`, nonRetryable: true });

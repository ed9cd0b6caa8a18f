import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  TimeoutFailure,
  WorkflowIdReusePolicy,
  condition,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { createNotificationActivities } from '../activities/notifications.js';
import type { createRunnerActivities } from '../activities/runner.js';
import type { Approval, ApprovalStatus } from '../core/contract/approvals.js';
import { APPROVAL_EXPIRED, APPROVAL_NOT_FOUND, APPROVAL_NOT_PENDING } from '../core/contract/plain/approvals.js';
import type { RunnerCommand, RunnerCommandReply } from '../core/contract/runner-commands.js';
import { COMMAND_REFUSED, RUN_NOT_LIVE } from '../core/contract/plain/runner-commands.js';
import { finalStatusFor, isRunFailureType, runFailure, type RunFailureType } from '../core/contract/failures.js';
import { isFinalRunStatus, isLiveRunStatus, type FinalRunStatus, type RunStatus } from '../core/contract/plain/run-status.js';
import type { NotificationEvent, NotifyInput } from '../core/contract/notifications.js';
import type { RunInput, RunState } from '../core/contract/workflow-io.js';
import { searchAttributes, usageSearchAttributes } from '../core/contract/search-attributes.js';
import {
  RUNNER_SHUTDOWN,
  RUN_ALREADY_ENDED,
  RUN_ALREADY_STOPPING,
  approvalRequestedSignal,
  approvalWithdrawnSignal,
  decideApprovalUpdate,
  notifyWorkflowId,
  executorSessionSignal,
  executionAftermathSignal,
  executorStartedSignal,
  interruptRunUpdate,
  pauseRunUpdate,
  resumeRunUpdate,
  sendInputUpdate,
  runStateQuery,
  runnerTaskQueue,
  stopByParentSignal,
  stopRunUpdate,
} from './messages.js';
import { causeMessage } from './cause-message.js';
import { createChildRuns } from './children.js';
import { openRunPullRequest, proposal } from './pull-requests.js';
import { notifyWorkflow } from './notify.js';
import { LOCAL_DISPATCH_PATCH, ONE_STEP_DISPATCH_PATCH, createDispatch } from './dispatch.js';
import { patchesUnder } from './patches.js';
import { createPermits } from './concurrency-permits.js';

type RunnerActivities = ReturnType<typeof createRunnerActivities>;
type NotificationActivities = ReturnType<typeof createNotificationActivities>;

/**
 * Patch ids: histories recorded before each change replay as they ran (runs stay open across upgrades).
 * A run stopped on request completes with its state instead of failing: the Temporal UI shows no failure.
 */
const STOPPED_RUN_COMPLETES_PATCH = 'stopped-run-completes';
/** Activities carry a summary, so the history in the Temporal UI says what each one was for. */
const ACTIVITY_SUMMARIES_PATCH = 'activity-summaries';
/**
 * Supervised runs: time waiting for an approval does not count against the run's timeout. The
 * runner's own clock (paused while waiting) enforces the timeout; the backstop, should the runner
 * not, is this workflow's clock of the run's timeout + BACKSTOP_MARGIN_SECONDS, also paused while an
 * approval is pending. The activity's startToClose, which cannot pause, becomes a far ceiling
 * that only a run stuck for weeks reaches; a dead runner is still found by the heartbeat timeout.
 */
const PAUSED_TIMEOUT_PATCH = 'timeout-paused-for-approvals';
/** Patches of the run's first steps are asked before its first local activity (see where it is used). */
const PATCHES_BEFORE_DISPATCH_PATCH = 'patches-before-dispatch';
const BACKSTOP_MARGIN_SECONDS = 120;
/**
 * A stop also tells the runner at once over the runner command path (`stop { graceful }`), so its
 * processes end within milliseconds; the activity's cancellation, seen at the next heartbeat,
 * stays the backstop. Histories from before it scheduled no such command.
 */
const STOP_COMMAND_PATCH = 'stop-over-command-path';
const EXECUTE_CEILING = '30 days';
/** Notifications: an approval asked for and the run's end each start a notify workflow (workflows/notify.ts). */
const NOTIFICATIONS_PATCH = 'notifications';
/** A run's tokens (and a failed run's cost) as search attributes, for `GET /usage`. */
const USAGE_ATTRIBUTES_PATCH = 'usage-search-attributes';
/**
 * A completed run whose agent defines a pull request pushes its branch and opens one (after its
 * runner slot is given back). Only runs started with `pull_request` in their input get here; the
 * marker keeps it so should that ever change.
 */
const RUN_PULL_REQUEST_PATCH = 'run-pull-request';
const END_EVENTS: Record<FinalRunStatus, NotificationEvent> = { completed: 'run.completed', failed: 'run.failed', stopped: 'run.stopped' };
/**
 * The notify workflow starts only for an event some notification takes: a local activity asks first,
 * in the control worker's own process, so a run's end costs no child workflow when none is configured.
 * (The notify workflow still matches for itself: it is the durable record of what was sent.)
 */
const NOTIFY_WHEN_MATCHED_PATCH = 'notify-when-matched';
/** A run closes only once the slots it gave back on the way (grants it did not need) have reached their runners. */
const RELEASES_BEFORE_CLOSE_PATCH = 'releases-before-close';
/**
 * A runner that gave the slot back itself as the executor completed (`slot_released` in the result)
 * gets no release from the run: the run closes in the task that hears the result, without waiting
 * for a signal of its own to be delivered.
 */
const RUNNER_RELEASES_PATCH = 'runner-releases-slot';
/**
 * Every patch above and dispatch's, asked with one marker by runs started by this release
 * (workflows/patches.ts), newest generation first; a run from an earlier release replays under its
 * own marker. A patch added after the newest marker is asked with `patched()` on its own, or under
 * a new generation that covers every patch before it.
 */
const PATCHES_2026_12 = [
  STOPPED_RUN_COMPLETES_PATCH,
  ACTIVITY_SUMMARIES_PATCH,
  PAUSED_TIMEOUT_PATCH,
  PATCHES_BEFORE_DISPATCH_PATCH,
  STOP_COMMAND_PATCH,
  NOTIFICATIONS_PATCH,
  USAGE_ATTRIBUTES_PATCH,
  RUN_PULL_REQUEST_PATCH,
  NOTIFY_WHEN_MATCHED_PATCH,
  RELEASES_BEFORE_CLOSE_PATCH,
  LOCAL_DISPATCH_PATCH,
] as const;
const RUN_PATCH_GENERATIONS = [
  { marker: 'run-patches-2026-12-02.2', covers: [...PATCHES_2026_12, ONE_STEP_DISPATCH_PATCH, RUNNER_RELEASES_PATCH] },
  { marker: 'run-patches-2026-12-02', covers: [...PATCHES_2026_12, ONE_STEP_DISPATCH_PATCH] },
  { marker: 'run-patches-2026-12', covers: PATCHES_2026_12 },
] as const;
type RunPatch = (typeof RUN_PATCH_GENERATIONS)[0]['covers'][number];
/** Whether a run patch is in effect for this run. */
export type HasRunPatch = (patchId: RunPatch) => boolean;
const { matchNotifications } = proxyLocalActivities<NotificationActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3, initialInterval: '100 milliseconds' } });
/** The runner command path: a command reaches a live runner within milliseconds, or the runner is gone. */
const COMMAND_TIMEOUT = '10 seconds';

const DEFAULT_RUN_TIMEOUT_SECONDS = 3600;
const DEFAULT_DISPATCH_TIMEOUT_SECONDS = 30;
/** A run whose runner keeps vanishing is given to a new runner at most this many times. */
const MAX_REDISPATCHES = 3;

/**
 * One run of an agent: resolve its demands, wait for an eligible live runner, execute the
 * executor on that runner's own queue, and record every status change with its time and reason.
 * A run that fails fails the workflow with a typed `ApplicationFailure` whose details hold the
 * final state, so the Temporal UI shows it as failed and the API can read it; a stopped run
 * completes with its state (status `stopped`), as a completed one does.
 */
export async function runWorkflow(input: RunInput): Promise<RunState> {
  // First of all, in the first workflow task: the one marker of every run started by this release.
  const has: HasRunPatch = patchesUnder<RunPatch>(RUN_PATCH_GENERATIONS);
  const notices: Array<Promise<void>> = [];
  /** What the run gives back when it ends, however it ends (its concurrency permits). */
  const releases: Array<() => Promise<void>> = [];
  const ending: { children?: ChildRuns; dispatch?: Dispatch } = {};
  try {
    return await runToEnd(input, has, notices, releases, ending);
  } finally {
    // Attached child runs end with their parent (stopped, their processes reaped), before it closes.
    await ending.children?.endWithParent();
    await Promise.all(releases.map((release) => release()));
    // An abandoned child outlives its parent only once it has started: the run closes after its notices have.
    await Promise.all(notices);
    // A grant that came while the run was ending is given back before it closes: a closed workflow's signal is never sent.
    if (ending.dispatch && has(RELEASES_BEFORE_CLOSE_PATCH)) await ending.dispatch.released();
  }
}

type ChildRuns = ReturnType<typeof createChildRuns>;
type Dispatch = ReturnType<typeof createDispatch>;

async function runToEnd(input: RunInput, has: HasRunPatch, notices: Array<Promise<void>>, releases: Array<() => Promise<void>>, ending: { children?: ChildRuns; dispatch?: Dispatch }): Promise<RunState> {
  const state: RunState = {
    run_id: input.run_id,
    agent: input.agent,
    session_id: input.session_id,
    status: 'pending',
    parameters: input.parameters,
    ...(input.policy ? { policy: input.policy } : {}),
    ...(input.parent ? { parent_run_id: input.parent.run_id } : {}),
    history: [{ status: 'pending', at: new Date().toISOString(), reason: 'accepted', ...(input.created_by ? { by: input.created_by } : {}) }],
    created_at: input.created_at,
  };
  let stopRequested = false;
  /** Who asked for the stop, for the history entries it causes. */
  let stopBy: string | undefined;
  let execution: CancellationScope | undefined;
  /** Set when an unanswered approval fails the run (`on_approval_timeout: fail`). */
  let approvalFailure: string | undefined;
  /** Set when the workflow's backstop clock ended the execution. */
  let backstopTripped = false;

  /** `alongside`: more search attributes, in the same upsert as the status (one visibility write). */
  const transition = (status: RunStatus, reason?: string, by?: string, alongside: SearchAttributeUpdatePair[] = []): void => {
    state.status = status;
    state.history.push({ status, at: new Date().toISOString(), ...(reason ? { reason } : {}), ...(by ? { by } : {}) });
    upsertSearchAttributes([...alongside, { key: searchAttributes.runStatus, value: status }]);
    // Shown as the run's current details in the Temporal UI; a query answers it, so no history is written.
    setCurrentDetails(`**${status}**${reason ? ` — ${reason}` : ''}${state.runner_id ? `\n\nrunner ${state.runner_id}` : ''}`);
    if (isFinalRunStatus(status)) notify('ended', END_EVENTS[status], reason);
  };
  /**
   * Starts the notify workflow of one event: a child abandoned when the run closes, with an id from
   * the run and the event, so the event is notified once however often this code replays.
   */
  const notify = (key: string, event: NotificationEvent, reason?: string, approval?: Approval): void => {
    if (!has(NOTIFICATIONS_PATCH)) return;
    const notice: NotifyInput = {
      event,
      occurred_at: new Date().toISOString(),
      run: {
        id: state.run_id,
        agent: state.agent,
        status: state.status,
        tags: state.demands?.tags ?? input.additional_demands?.tags ?? [],
        ...(reason ? { reason } : {}),
        ...(state.error ? { error: state.error } : {}),
        ...(state.runner_id ? { runner_id: state.runner_id } : {}),
        created_at: state.created_at,
      },
      ...(approval
        ? { approval: { id: approval.id, tool: approval.tool, rule: approval.rule, expires_at: approval.expires_at, ...(approval.command ? { command: approval.command } : {}), ...(approval.files ? { files: approval.files } : {}) } }
        : {}),
    };
    // Decided here, before any await, so replay meets the marker where it was recorded.
    const askFirst = has(NOTIFY_WHEN_MATCHED_PATCH);
    const start = async (): Promise<unknown> => {
      if (askFirst) {
        const names = await matchNotifications.executeWithOptions({ summary: `does a notification take ${event}?` }, [{ event, agent: notice.run.agent, tags: notice.run.tags }]);
        if (names.length === 0) return undefined;
      }
      return startChild(notifyWorkflow, {
        workflowId: notifyWorkflowId(state.run_id, key),
        args: [notice],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    };
    notices.push(
      start().then(
        () => undefined,
        (error: unknown) => {
          // Already started (the same event, seen again) is what the id is for; anything else costs the
          // notice, never the run.
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) log.warn(`the ${event} notice of run ${state.run_id} did not start: ${causeMessage(error)}`);
        },
      ),
    );
  };
  /** The run's usage on its search attributes (the cost of a completed run is set apart, as before the patch). */
  const recordUsage = (result: unknown, cost: boolean): void => {
    const pairs = usageSearchAttributes(result, cost);
    if (pairs.length && has(USAGE_ATTRIBUTES_PATCH)) upsertSearchAttributes(pairs);
  };
  const fail = (type: RunFailureType, message: string, by?: string): ApplicationFailure => {
    state.error = { type, message };
    state.pending_reason = undefined;
    transition(finalStatusFor(type), message, by);
    return runFailure(type, message, [state]);
  };
  /** Ends a run stopped on request; the caller returns what this returns. */
  const endStopped = (message: string): RunState => {
    const failure = fail('STOPPED', message, stopBy);
    if (has(STOPPED_RUN_COMPLETES_PATCH)) return state;
    throw failure;
  };

  /** A summary for an activity; none for histories from before summaries, so they replay the commands they recorded. */
  const summarized = (summary: string): ActivityOptions => (has(ACTIVITY_SUMMARIES_PATCH) ? { summary } : {});

  setHandler(runStateQuery, () => state);
  // Resolving and picking a runner: workflows/dispatch.ts.
  const dispatch = createDispatch({ input, state, has, stopRequested: () => stopRequested, fail, summarized });
  ending.dispatch = dispatch;
  setHandler(executorStartedSignal, ({ pid, started_at, attempt, resumed_session, controls }) => {
    if (controls) state.live_controls = controls;
    // A restarted executor asks its questions again: the dead one's can no longer be answered.
    if (attempt > 1) for (const approval of state.approvals ?? []) if (approval.status === 'pending') settle(approval, 'withdrawn', 'the executor restarted; it asks again');
    // Its first question may arrive before this signal; a failed pre_run hook's question before the executor starts.
    if ((state.status === 'waiting_for_approval' || state.status === 'running') && !state.executor_started_at) state.executor_started_at = started_at;
    if (state.status === 'dispatched') {
      state.executor_started_at = started_at;
      transition('running', `executor started (pid ${pid})`);
    } else if ((state.status === 'running' || state.status === 'paused') && attempt > 1) {
      // A paused run whose runner died runs again unpaused: the frozen processes went with it.
      transition('running', `executor restarted after its runner came back (attempt ${attempt}${resumed_session ? `, resuming session ${resumed_session}` : ''})`);
    }
  });
  setHandler(executorSessionSignal, ({ session_id }) => {
    state.executor_session_id = session_id;
  });
  // A failed or stopped execution's workspace and result so far: GET /runs/:id keeps what happened.
  setHandler(executionAftermathSignal, ({ workspace, result }) => {
    if (workspace) state.workspace = workspace;
    state.result = result;
  });
  setHandler(approvalRequestedSignal, (request) => {
    // A late question (the run is stopping or over) is not shown: the executor is being ended.
    if (state.status !== 'dispatched' && state.status !== 'running' && state.status !== 'waiting_for_approval' && state.status !== 'paused') return;
    const approval: Approval = { ...request, status: 'pending', expires_at: new Date(Date.now() + request.timeout_seconds * 1000).toISOString() };
    (state.approvals ??= []).push(approval);
    // Asked just as the run was paused: it shows once the run is resumed.
    if (state.status !== 'paused') transition('waiting_for_approval', `${request.tool} needs an operator's approval (${request.rule})`);
    notify(`approval-${approval.id}`, 'approval_requested', `${request.tool} needs an operator's approval`, approval);
    void expireWhenDue(approval);
  });
  setHandler(approvalWithdrawnSignal, ({ approval_id, reason }) => {
    const approval = state.approvals?.find((entry) => entry.id === approval_id);
    if (approval?.status === 'pending') settle(approval, 'withdrawn', `approval for ${approval.tool} withdrawn: ${reason}`);
  });
  setHandler(
    decideApprovalUpdate,
    async ({ approval_id, decision, note, remember, by }) => {
      const approval = state.approvals!.find((entry) => entry.id === approval_id)!;
      const status = decision === 'allow' ? 'allowed' : 'denied';
      settle(approval, status, `${approval.tool} ${status}${remember && decision === 'allow' ? ' for the rest of the run' : ''}${note ? `: ${note}` : ''}`, { by, note, remember });
      const reply = await deliver({ kind: 'approval_decision', approval_id, decision, by, ...(note ? { message: note } : {}), ...(remember ? { remember } : {}) });
      if (!reply.delivered) state.history.push({ status: state.status, at: new Date().toISOString(), reason: `the decision on ${approval.tool} did not reach the executor: ${reply.reason ?? 'unknown'}` });
      return approval;
    },
    {
      // Refused before anything is written: the caller gets 409 with the reason.
      validator: ({ approval_id }) => {
        const approval = state.approvals?.find((entry) => entry.id === approval_id);
        if (!approval) throw ApplicationFailure.create({ type: APPROVAL_NOT_FOUND, message: `the run has no approval ${approval_id}` });
        if (approval.status !== 'pending') {
          throw ApplicationFailure.create({ type: APPROVAL_NOT_PENDING, message: `approval ${approval_id} is not pending: it is ${approval.status}${approval.decided_by ? ` (by ${approval.decided_by})` : ''}` });
        }
        if (Date.now() >= Date.parse(approval.expires_at)) throw ApplicationFailure.create({ type: APPROVAL_EXPIRED, message: `approval ${approval_id} expired at ${approval.expires_at}` });
      },
    },
  );
  const requestStop = ({ reason, by, graceful }: { reason?: string; by?: string; graceful?: boolean }): { status: 'stopping' | 'stopped' } => {
    stopRequested = true;
    stopBy = by;
    if (state.status === 'dispatched' || isLiveRunStatus(state.status)) {
      const now = graceful === false;
      transition('stopping', `${reason ?? 'stop requested'}${now ? ' (now: no grace period)' : ''}`, by);
      execution?.cancel();
      // Straight to the runner; the cancellation above reaches it at its next heartbeat.
      if (has(STOP_COMMAND_PATCH)) void deliver({ kind: 'stop', graceful: !now, ...(by ? { by } : {}) });
      return { status: 'stopping' as const };
    }
    // Pending: the dispatch loop sees the flag at once and ends the run.
    dispatch.wake();
    return { status: 'stopped' as const };
  };
  setHandler(
    stopRunUpdate,
    requestStop,
    {
      validator: (_request) => {
        if (isFinalRunStatus(state.status)) {
          throw ApplicationFailure.create({ type: RUN_ALREADY_ENDED, message: `the run has already ended (${state.status})` });
        }
        if (stopRequested) throw ApplicationFailure.create({ type: RUN_ALREADY_STOPPING, message: 'a stop was already requested for this run' });
      },
    },
  );
  // Child runs (workflows/children.ts): a parent ending stops an attached child the way a stop request does.
  /** The run's budget once resolved (its agent's merged in), which caps its children's. */
  const resolvedBudget: { value?: RunInput['budget'] } = {};
  ending.children = createChildRuns({ input, state, stopRequested: () => stopRequested, budget: () => resolvedBudget.value ?? input.budget });
  setHandler(stopByParentSignal, ({ reason, by }) => {
    if (!isFinalRunStatus(state.status) && !stopRequested) requestStop({ reason, ...(by ? { by } : {}) });
  });

  /** Refuses a live command before anything is written: the run must be live and not stopping, and the executor able. */
  const requireLive = (what: string, able?: keyof NonNullable<RunState['live_controls']>): void => {
    const refuse = (type: string, message: string): never => {
      throw ApplicationFailure.create({ type, message, nonRetryable: true });
    };
    if (isFinalRunStatus(state.status)) refuse(RUN_NOT_LIVE, `cannot ${what}: the run has already ended (${state.status})`);
    if (stopRequested) refuse(RUN_NOT_LIVE, `cannot ${what}: the run is stopping`);
    if (!isLiveRunStatus(state.status)) refuse(RUN_NOT_LIVE, `cannot ${what}: the run is not running yet (${state.status})`);
    if (able && state.live_controls && !state.live_controls[able]) refuse(COMMAND_REFUSED, `cannot ${what}: its executor does not support it`);
  };
  /** Delivers a live command; the runner's refusal fails the update with its reason. */
  const command = async (what: string, sent: RunnerCommand): Promise<RunnerCommandReply> => {
    const reply = await deliver(sent);
    if (!reply.delivered) throw ApplicationFailure.create({ type: COMMAND_REFUSED, message: `cannot ${what}: ${reply.reason ?? 'the runner did not take it'}`, nonRetryable: true });
    return reply;
  };
  /** A history entry without a status change (input, interrupt): who did what to the live run. */
  const note = (reason: string, by?: string): void => {
    state.history.push({ status: state.status, at: new Date().toISOString(), reason, ...(by ? { by } : {}) });
  };
  setHandler(
    sendInputUpdate,
    async ({ text, by }) => {
      const reply = await command('send input', { kind: 'input', text, by });
      note(`input from ${by}${reply.queued ? ', held until the current turn ends' : ''} (${text.length} characters)`, by);
      return { delivered: true, queued: reply.queued === true };
    },
    { validator: (_request) => requireLive('send input', 'input') },
  );
  setHandler(
    interruptRunUpdate,
    async ({ by }) => {
      await command('interrupt', { kind: 'interrupt', by });
      note('interrupted; the session waits for input', by);
      return { status: state.status };
    },
    { validator: (_request) => requireLive('interrupt', 'interrupt') },
  );
  setHandler(
    pauseRunUpdate,
    async ({ by }) => {
      await command('pause', { kind: 'pause', by });
      // The executor may have ended meanwhile: the run shows how it ended, not `paused`.
      if (isLiveRunStatus(state.status) && !stopRequested) transition('paused', 'paused: every process of the run is frozen, its timeout clock stopped', by);
      return { status: state.status };
    },
    {
      validator: (_request) => {
        requireLive('pause');
        if (state.status === 'paused') throw ApplicationFailure.create({ type: COMMAND_REFUSED, message: 'cannot pause: the run is already paused', nonRetryable: true });
        // Before the pausable backstop clock, the activity's own timeout would fire on a long pause.
        if (!pausedTimeout) throw ApplicationFailure.create({ type: COMMAND_REFUSED, message: 'cannot pause: the run started before ao could pause runs', nonRetryable: true });
      },
    },
  );
  setHandler(
    resumeRunUpdate,
    async ({ by }) => {
      await command('resume', { kind: 'resume', by });
      if (state.status === 'paused') transition(pendingApprovals() ? 'waiting_for_approval' : 'running', 'resumed', by);
      return { status: state.status };
    },
    {
      validator: (_request) => {
        requireLive('resume');
        if (state.status !== 'paused') throw ApplicationFailure.create({ type: COMMAND_REFUSED, message: `cannot resume: the run is not paused (${state.status})`, nonRetryable: true });
      },
    },
  );

  let pausedTimeout = false;
  // Asked before the resolve local activity is scheduled, not after it: a local activity that
  // completes as its workflow task is being completed lands its continuation in the next task, while
  // replay runs that continuation in the first one, so a patch first asked there would not replay.
  const patchesBeforeDispatch = has(PATCHES_BEFORE_DISPATCH_PATCH);
  if (patchesBeforeDispatch) pausedTimeout = has(PAUSED_TIMEOUT_PATCH);
  let resolved: Awaited<ReturnType<typeof dispatch.resolve>>;
  try {
    resolved = await dispatch.resolve();
  } catch (error) {
    throw fail('INVALID_RUN', causeMessage(error));
  }
  state.demands = resolved.demands;
  resolvedBudget.value = resolved.request.budget;
  if (resolved.script) state.script = resolved.script;
  state.timeout_seconds = input.timeout_seconds ?? resolved.timeout_seconds ?? DEFAULT_RUN_TIMEOUT_SECONDS;
  if (resolved.request.session_id) state.executor_session_id = resolved.request.session_id;
  const tags = { key: searchAttributes.tags, value: resolved.demands.tags } as const;
  // Dispatched at once (the first pick reserved a slot): the tags go with the runner and status, in one upsert.
  let pendingTags = has(ONE_STEP_DISPATCH_PATCH) && dispatch.holdsFirstSlot() ? tags : undefined;
  if (!pendingTags) upsertSearchAttributes([tags]);
  if (!patchesBeforeDispatch) pausedTimeout = has(PAUSED_TIMEOUT_PATCH);
  // Concurrency keys (workflows/concurrency.ts): only runs resolved with a limit have any, so older histories never get here.
  if (resolved.concurrency?.length) {
    const permits = createPermits({ input, state, stopRequested: () => stopRequested, fail });
    releases.push(permits.releaseAll);
    if (!(await permits.acquire(resolved.concurrency))) return endStopped('stopped on request');
  }

  /** Set when the executor completed and the run goes on to its pull request. */
  let exitCode: number | null = null;
  /** A stop before the run had its runner: what the first pick holds is given back, and the tags still recorded. */
  const stoppedUnplaced = (): RunState => {
    dispatch.abandon();
    if (pendingTags) upsertSearchAttributes([pendingTags]);
    pendingTags = undefined;
    return endStopped('stopped on request');
  };
  for (let dispatches = 0; ; dispatches += 1) {
    if (stopRequested) return stoppedUnplaced();
    const runner = await dispatch.waitForRunner(resolved);
    if (!runner) return stoppedUnplaced();
    state.runner_id = runner.runner_id;
    state.runner = runner;
    // Every runner the run was ever handed to: their late events are still its events.
    if (!state.assigned_runners?.includes(runner.runner_id)) state.assigned_runners = [...(state.assigned_runners ?? []), runner.runner_id];
    state.pending_reason = undefined;
    const placed = [
      ...(pendingTags ? [pendingTags] : []),
      { key: searchAttributes.runnerId, value: runner.runner_id },
      { key: searchAttributes.profile, value: runner.executor_profile },
    ];
    pendingTags = undefined;
    if (has(ONE_STEP_DISPATCH_PATCH)) transition('dispatched', `runner ${runner.runner_id}`, undefined, placed);
    else {
      upsertSearchAttributes(placed);
      transition('dispatched', `runner ${runner.runner_id}`);
    }

    const { execute } = proxyActivities<RunnerActivities>({
      taskQueue: runnerTaskQueue(runner.runner_id),
      // The queue belongs to one runner: if it does not take the task (or come back after a crash) in time, move on.
      scheduleToStartTimeout: `${input.dispatch_timeout_seconds ?? DEFAULT_DISPATCH_TIMEOUT_SECONDS} seconds`,
      // The runner enforces the run timeout itself; the backstop, should it not, is the workflow's
      // pausable clock (PAUSED_TIMEOUT_PATCH), or before it this timeout.
      startToCloseTimeout: pausedTimeout ? EXECUTE_CEILING : `${state.timeout_seconds + BACKSTOP_MARGIN_SECONDS} seconds`,
      heartbeatTimeout: '10 seconds',
      // A missed heartbeat is retried on the same runner's queue: a restarted runner resumes the run.
      retry: { maximumAttempts: 3, initialInterval: '1 second' },
      // A stop completes only once the runner has ended the executor's processes.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    execution = new CancellationScope();
    let executing = true;
    /** The runner gave the slot back itself. */
    let releasedByRunner = false;
    if (pausedTimeout) void backstop(execution, () => !executing);
    try {
      const summary = summarized(`run ${input.agent} on runner ${runner.runner_id} (profile ${runner.executor_profile}, ${runner.hostname})`);
      const result = await execution.run(() => execute.executeWithOptions(summary, [{ ...resolved.request, timeout_seconds: state.timeout_seconds }]));
      releasedByRunner = result.slot_released === true && has(RUNNER_RELEASES_PATCH);
      if (result.session_id) state.executor_session_id = result.session_id;
      if (result.workspace) state.workspace = result.workspace;
      state.result = result.result_data ?? { exit_code: result.exit_code, stdout: result.stdout_tail, stderr: result.stderr_tail };
      const cost = (result.result_data as { cost_usd?: unknown } | undefined)?.cost_usd;
      if (typeof cost === 'number' && Number.isFinite(cost)) upsertSearchAttributes([{ key: searchAttributes.costUsd, value: cost }]);
      recordUsage(result.result_data, false);
      if (!input.pull_request || !has(RUN_PULL_REQUEST_PATCH)) {
        transition('completed', `exit code ${result.exit_code ?? 'none'}`);
        return state;
      }
      exitCode = result.exit_code;
      break;
    } catch (error) {
      if (stopRequested && (isCancellation(error) || error instanceof ActivityFailure)) {
        return endStopped('stopped on request; the executor’s processes have exited');
      }
      const cancelled = isCancellation(error) || error instanceof ActivityFailure;
      if (approvalFailure && cancelled) throw fail('APPROVAL_TIMEOUT', approvalFailure);
      if (backstopTripped && cancelled) throw fail('RUN_TIMEOUT', `run exceeded its timeout of ${state.timeout_seconds}s (and its runner did not end it)`);
      const handBack = handBackReason(error, runner.runner_id);
      if (handBack && dispatches < MAX_REDISPATCHES) {
        state.runner_id = undefined;
        transition('pending', handBack);
        continue;
      }
      if (handBack) throw fail('RUNNER_LOST', `${handBack}; gave up after ${MAX_REDISPATCHES} re-dispatches`);
      if (isTimeout(error, 'START_TO_CLOSE')) throw fail('RUN_TIMEOUT', `run exceeded its timeout of ${state.timeout_seconds}s`);
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
      // A failed executor's own result (a patrol's failed checks) stays the run's result.
      const failedResult = (cause?.details?.[0] as { result_data?: unknown } | undefined)?.result_data;
      if (failedResult !== undefined) {
        state.result = isPlainObject(state.result) && isPlainObject(failedResult) ? { ...state.result, ...failedResult } : failedResult;
        recordUsage(failedResult, true);
      }
      throw fail(cause?.type && isRunFailureType(cause.type) ? cause.type : 'EXECUTOR_FAILED', causeMessage(error));
    } finally {
      executing = false;
      execution = undefined;
      for (const approval of state.approvals ?? []) if (approval.status === 'pending') approval.status = 'withdrawn';
      if (releasedByRunner) dispatch.releasedByRunner(runner.runner_id);
      else await dispatch.releaseSlot(runner.runner_id);
    }
  }

  // Here only with the executor completed and its agent's pull request to open (RUN_PULL_REQUEST_PATCH).
  const completed = `exit code ${exitCode ?? 'none'}`;
  const branch = state.workspace?.branch;
  if (stopRequested) return endStopped(`stopped on request before its pull request was opened${branch ? `; the work is on branch ${branch}` : ''}`);
  const proposed = proposal(state);
  if ('nothing' in proposed) {
    note(`no pull request: ${proposed.nothing}`);
    transition('completed', completed);
    return state;
  }
  note(`opening a pull request for ${proposed.branch}`);
  const step = await openRunPullRequest(input, state, input.pull_request, proposed);
  if ('failed' in step) throw fail('PULL_REQUEST_FAILED', step.failed);
  state.pull_request = step.opened;
  transition('completed', `${completed}; pull request ${step.opened.url ?? `for ${step.opened.branch} (the forge command printed no URL)`}`);
  return state;

  /** Decides an approval: its status, who and why, and the run back to `running` once none is pending. */
  function settle(approval: Approval, status: ApprovalStatus, reason: string, decision: { by?: string; note?: string; remember?: boolean | undefined } = {}): void {
    approval.status = status;
    approval.decided_at = new Date().toISOString();
    if (decision.by) approval.decided_by = decision.by;
    if (decision.note) approval.note = decision.note;
    if (decision.remember) approval.remember = true;
    if (state.status !== 'waiting_for_approval') return;
    transition(pendingApprovals() ? 'waiting_for_approval' : 'running', reason, decision.by);
  }

  function pendingApprovals(): number {
    return state.approvals?.filter((approval) => approval.status === 'pending').length ?? 0;
  }

  /** An approval nobody answers in time is denied, or fails the run, as its profile says. */
  async function expireWhenDue(approval: Approval): Promise<void> {
    if (await condition(() => approval.status !== 'pending', Math.max(1, Date.parse(approval.expires_at) - Date.now()))) return;
    const why = `no operator answered within ${approval.timeout_seconds}s`;
    settle(approval, 'expired', `approval for ${approval.tool} expired: ${why}`);
    if (approval.on_timeout === 'fail') {
      approvalFailure = `approval for ${approval.tool} expired: ${why}`;
      execution?.cancel();
      return;
    }
    await deliver({ kind: 'approval_decision', approval_id: approval.id, decision: 'deny', message: `Denied: ${why}.` });
  }

  /**
   * The runner command path: a short activity on the run's runner's own queue, which hands the
   * command to the execution the runner holds in memory.
   */
  async function deliver(command: RunnerCommand): Promise<RunnerCommandReply> {
    const runnerId = state.runner_id;
    if (!runnerId) return { delivered: false, reason: 'the run has no runner' };
    const { deliverCommand } = proxyActivities<RunnerActivities>({
      taskQueue: runnerTaskQueue(runnerId),
      scheduleToStartTimeout: COMMAND_TIMEOUT,
      startToCloseTimeout: COMMAND_TIMEOUT,
      retry: { maximumAttempts: 3, initialInterval: '200 milliseconds' },
    });
    try {
      return await deliverCommand.executeWithOptions(summarized(`${command.kind} for the run on runner ${runnerId}`), [{ run_id: state.run_id, command }]);
    } catch (error) {
      return { delivered: false, reason: causeMessage(error) };
    }
  }

  /**
   * The backstop clock of one execution: the run's timeout plus a margin, paused while an approval
   * is pending or the run is paused; reaching it cancels the execution (the runner's own clock should have ended it).
   */
  async function backstop(scope: CancellationScope, done: () => boolean): Promise<void> {
    let remainingMs = (state.timeout_seconds! + BACKSTOP_MARGIN_SECONDS) * 1000;
    while (!done()) {
      const from = Date.now();
      const paused = await condition(() => done() || standsStill(), Math.max(1, remainingMs));
      if (done()) return;
      remainingMs -= Date.now() - from;
      if (!paused || remainingMs <= 0) {
        backstopTripped = true;
        scope.cancel();
        return;
      }
      await condition(() => done() || !standsStill());
    }
  }

  /** The run's clock stands still while it waits for a person or is paused. */
  function standsStill(): boolean {
    return pendingApprovals() > 0 || state.status === 'paused';
  }

  /** Why the run should go to another runner, or undefined when the failure is the run's own. */
  function handBackReason(error: unknown, runnerId: string): string | undefined {
    if (isTimeout(error, 'SCHEDULE_TO_START')) {
      return state.status === 'dispatched'
        ? `runner ${runnerId} did not take the run; choosing another`
        : `runner ${runnerId} was lost during the run and did not come back in time; choosing another`;
    }
    if (isTimeout(error, 'HEARTBEAT')) return `runner ${runnerId} stopped responding; choosing another`;
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === RUNNER_SHUTDOWN) {
      return `runner ${runnerId} shut down during the run; handing it to another runner`;
    }
    return undefined;
  }
}


function isTimeout(error: unknown, type: TimeoutFailure['timeoutType']): boolean {
  return error instanceof ActivityFailure && error.cause instanceof TimeoutFailure && error.cause.timeoutType === type;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

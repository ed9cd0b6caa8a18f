import { condition, getExternalWorkflowHandle, proxyActivities, proxyLocalActivities, setHandler, type ActivityOptions, type ApplicationFailure } from '@temporalio/workflow';
import type { createControlActivities, PickResult, ResolvedRun } from '../activities/control.js';
import type { RunFailureType } from '../core/contract/failures.js';
import type { RunInput, RunState, RunnerSummary } from '../core/contract/workflow-io.js';
import { fleetSink } from './fleet-sink.js';
import { inFlight } from './in-flight.js';
import { releaseSlotSignal, runnerAvailableSignal, runnerWorkflowId, slotGrantedSignal } from './messages.js';

type ControlActivities = ReturnType<typeof createControlActivities>;

/**
 * Resolve and pick run as local activities in the workflow's own worker (the control worker), in
 * the workflow task that started the run: no hand-off through matching for either. Histories
 * from before replay the two activities they scheduled.
 */
export const LOCAL_DISPATCH_PATCH = 'local-dispatch';
/**
 * Resolve and the first pick are one local activity (`resolveAndPick`), for runs without
 * concurrency keys: one hand-off to the workflow thread fewer. The run's tags, runner and
 * `dispatched` status then go to visibility in one upsert (workflows/run.ts).
 */
export const ONE_STEP_DISPATCH_PATCH = 'one-step-dispatch';

const DEFAULT_NO_RUNNER_TIMEOUT_SECONDS = 300;
/** Polling for a matching runner backs off up to this interval; a freed slot wakes the run sooner. */
const MAX_PICK_INTERVAL_MS = 2_000;
/**
 * A run queued on a runner is granted that runner's next free slot; it also looks again on its own,
 * in case another runner has room: the fleet view it queued by may have been a few seconds old
 * (a slot freed on another runner meanwhile, whose queue is empty, would stay idle), or a new runner
 * came along. First after QUEUED_FIRST_RECHECK_MS, then twice as long each time up to QUEUED_RECHECK_MS.
 * (A timer's duration is not part of what replay checks: histories that waited 30 s replay the same.)
 */
const QUEUED_FIRST_RECHECK_MS = 5_000;
const QUEUED_RECHECK_MS = 30_000;
/**
 * A run deep in a queue looks again less often, QUEUED_RECHECK_PER_RUN_AHEAD_MS for each run that
 * was ahead of it when it joined, up to QUEUED_MAX_RECHECK_MS: its grant comes anyway, and 1,000
 * queued runs each looking again every 30 s were 33 picks a second, which left the control worker
 * no time for the runs that had slots (the bench's queue of 1,000 stopped draining).
 */
const QUEUED_RECHECK_PER_RUN_AHEAD_MS = 10_000;
const QUEUED_MAX_RECHECK_MS = 600_000;

const CONTROL_ACTIVITY_OPTIONS = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' } } as const;
const remote = proxyActivities<ControlActivities>(CONTROL_ACTIVITY_OPTIONS);
const local = proxyLocalActivities<ControlActivities>(CONTROL_ACTIVITY_OPTIONS);

export interface DispatchContext {
  input: RunInput;
  state: RunState;
  /** Whether a patch is in effect for the run (workflows/run.ts asks its patches under one marker). */
  has: (patchId: typeof LOCAL_DISPATCH_PATCH | typeof ONE_STEP_DISPATCH_PATCH) => boolean;
  stopRequested: () => boolean;
  fail: (type: RunFailureType, message: string) => ApplicationFailure;
  summarized: (summary: string) => ActivityOptions;
}

/**
 * How a run finds its runner: resolve its demands once, then pick an eligible runner with a free
 * slot, waiting (woken by the runner whose slot it is granted, not by polling) while all are busy.
 */
export function createDispatch({ input, state, has, stopRequested, fail, summarized }: DispatchContext) {
  const control = has(LOCAL_DISPATCH_PATCH) ? local : remote;
  let woken = false;
  let waiting = false;
  /** A slot a runner reserved for this run while it waited in that runner's queue. */
  let granted: RunnerSummary | undefined;
  /** The runner whose queue the run waits in, as the last pick said. */
  let queuedAt: string | undefined;
  /** Slots being given back: the run closes only once they have reached their runners. */
  const releasing = inFlight();
  /** Runners whose queues the run joined: once it has a slot it leaves the rest, so none grants it one it would give back. */
  const joined = new Set<string>();
  /** The pick `resolveAndPick` made, not yet taken by `waitForRunner`. */
  let firstPick: PickResult | undefined;

  setHandler(runnerAvailableSignal, () => {
    // Also sent by a runner that stops taking runs to its queue: look everywhere again.
    queuedAt = undefined;
    woken = true;
  });
  setHandler(slotGrantedSignal, ({ runner }) => {
    // A run that no longer waits (dispatched elsewhere, stopping) gives the slot back at once.
    if (!waiting || granted || stopRequested()) {
      giveBack(runner.runner_id);
      return;
    }
    granted = runner;
    woken = true;
    fleetSink.slotGranted(runner.runner_id, state.run_id);
  });

  /** Gives a slot back (or leaves a queue) without waiting; the run closes only once it has reached the runner. */
  function giveBack(runnerId: string): void {
    joined.delete(runnerId);
    releasing.track(releaseSlot(runnerId));
  }

  /** The run has its slot on `runnerId` (or no longer waits): it leaves every other queue it joined. */
  function leaveQueues(runnerId: string | undefined): void {
    if (runnerId) joined.delete(runnerId);
    for (const other of [...joined]) giveBack(other);
  }

  async function releaseSlot(runnerId: string): Promise<void> {
    try {
      await getExternalWorkflowHandle(runnerWorkflowId(runnerId)).signal(releaseSlotSignal, { run_id: state.run_id });
    } catch {
      // The runner's workflow is gone; it holds no slot to release.
    }
    slotFreed(runnerId);
  }

  /** Tells the fleet view the slot is free once it is (leaving a queue frees none: the view then has nothing to drop). */
  function slotFreed(runnerId: string): void {
    fleetSink.slotFreed(runnerId, state.run_id);
  }

  async function resolve(): Promise<ResolvedRun> {
    if (!has(ONE_STEP_DISPATCH_PATCH)) return control.resolveRun.executeWithOptions(summarized(`resolve agent ${input.agent}: its demands, timeout and script`), [input]);
    // The pick may queue the run on a runner, whose grant can come before waitForRunner: it is kept.
    waiting = true;
    try {
      const { resolved, pick } = await local.resolveAndPick.executeWithOptions(summarized(`resolve agent ${input.agent} (its demands, timeout and script), then pick a live runner that meets the demands and reserve a slot on it`), [input]);
      for (const runnerId of pick?.joined ?? []) joined.add(runnerId);
      firstPick = pick;
      return resolved;
    } finally {
      waiting = firstPick !== undefined;
    }
  }

  /** The run will not look for a runner after all (a stop came first): what the first pick reserved or joined is given back. */
  function abandon(): void {
    if (!firstPick) return;
    leaveQueues(undefined);
    if (firstPick.runner) giveBack(firstPick.runner.runner_id);
    if (granted) giveBack(takeGrant().runner_id);
    firstPick = undefined;
    waiting = false;
  }

  /** Waits for an eligible runner with a free slot; undefined when a stop arrives first. */
  async function waitForRunner(resolved: ResolvedRun): Promise<RunnerSummary | undefined> {
    waiting = true;
    let chosen: RunnerSummary | undefined;
    try {
      chosen = await pickOrWait(resolved);
      return chosen;
    } finally {
      waiting = false;
      // Only picks that report the queues they joined fill `joined`: older histories send nothing here.
      leaveQueues(chosen?.runner_id);
    }
  }

  async function pickOrWait(resolved: ResolvedRun): Promise<RunnerSummary | undefined> {
    const noRunnerTimeoutMs = (input.no_runner_timeout_seconds ?? DEFAULT_NO_RUNNER_TIMEOUT_SECONDS) * 1000;
    let noRunnerDeadline = Date.now() + noRunnerTimeoutMs;
    /** Set once the run first waits for a slot, when it has a queue timeout. */
    let queueDeadline: number | undefined;
    let interval = 250;
    let queuedInterval = QUEUED_FIRST_RECHECK_MS;
    /** How many runs were ahead of this one in the queue it last joined. */
    let runsAhead = 0;
    /** resolveAndPick's pick, taken as this loop's first. */
    let preset = takeFirstPick();
    for (;;) {
      if (granted && !stopRequested()) {
        // The grant of a queue the first pick joined came before the loop did.
        if (preset?.runner) giveBack(preset.runner.runner_id);
        return takeGrant();
      }
      const pick: PickResult =
        preset ??
        (await control.pickRunner.executeWithOptions(summarized('pick a live runner that meets the demands and reserve a slot on it'), [
          { run_id: state.run_id, demands: resolved.demands, ...(resolved.script ? { script: resolved.script } : {}), ...(input.priority !== undefined ? { priority: input.priority } : {}), ...(queuedAt ? { queued_at: queuedAt } : {}) },
        ]));
      preset = undefined;
      for (const runnerId of pick.joined ?? []) joined.add(runnerId);
      if (stopRequested()) {
        if (pick.runner) await releaseSlot(pick.runner.runner_id);
        if (granted) await releaseSlot(takeGrant().runner_id);
        return undefined;
      }
      if (pick.runner) {
        // A grant that raced the pick is given back, unless it is the same slot.
        if (granted && granted.runner_id !== pick.runner.runner_id) await releaseSlot(granted.runner_id);
        granted = undefined;
        return pick.runner;
      }
      if (granted) continue;
      // Runners that can take the run exist and are all busy: it waits its turn, however long the
      // queue; the no-runner timeout counts only while none could take it. (Picks recorded before
      // `waiting` existed carry none and replay as they ran.)
      if (pick.waiting === 'slot') {
        noRunnerDeadline = Date.now() + noRunnerTimeoutMs;
        if (input.queue_timeout_seconds) queueDeadline ??= Date.now() + input.queue_timeout_seconds * 1000;
      }
      state.pending_reason = pick.waiting === 'slot' ? `waiting for a free slot: ${pick.reason}` : pick.reason;
      const queueLimit = pick.waiting === 'slot' ? queueDeadline : undefined;
      if (queueLimit !== undefined && queueLimit <= Date.now()) {
        throw fail('QUEUE_TIMEOUT', `waited longer than its queue timeout of ${input.queue_timeout_seconds}s for a free slot: ${pick.reason}`);
      }
      const remaining = Math.min(noRunnerDeadline, queueLimit ?? Infinity) - Date.now();
      if (remaining <= 0) throw fail('NO_RUNNER', `no runner took the run in time: ${pick.reason}`);
      woken = false;
      // Queued on a runner: its grant wakes the run. (Picks from before queues carry no `queued_at`.)
      queuedAt = pick.queued_at;
      if (pick.queue_length !== undefined) runsAhead = pick.queue_length - 1;
      const wait = pick.queued_at ? Math.min(Math.max(queuedInterval, runsAhead * QUEUED_RECHECK_PER_RUN_AHEAD_MS), QUEUED_MAX_RECHECK_MS) : interval;
      await condition(() => woken || stopRequested(), Math.min(wait, remaining));
      if (pick.queued_at) queuedInterval = Math.min(queuedInterval * 2, QUEUED_RECHECK_MS);
      else interval = Math.min(interval * 2, MAX_PICK_INTERVAL_MS);
    }
  }

  function takeFirstPick(): PickResult | undefined {
    const pick = firstPick;
    firstPick = undefined;
    return pick;
  }

  function takeGrant(): RunnerSummary {
    const runner = granted!;
    granted = undefined;
    return runner;
  }

  return {
    resolve,
    waitForRunner,
    abandon,
    /** The first pick reserved a slot: the run is dispatched without waiting. */
    holdsFirstSlot: (): boolean => firstPick?.runner !== undefined,
    releaseSlot,
    /** The runner gave the slot back itself (a completed run): only the fleet view is left to tell. */
    releasedByRunner: slotFreed,
    /** Once every slot given back on the way (grants the run did not need) has reached its runner. */
    released: (): Promise<void> => releasing.settled(),
    /** A stop wakes a pending run at once. */
    wake(): void {
      woken = true;
    },
  };
}

import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createRunnerActivities } from '../activities/runner.js';
import type { PresenceHeartbeat, RunnerRegistration } from '../core/contract/fleet.js';
import { notForgettableReason, notTakingRunsReason, takesRuns } from '../core/contract/plain/fleet.js';
import { searchAttributes } from '../core/contract/search-attributes.js';
import {
  FLEET_TASK_QUEUE,
  deregisterRunnerSignal,
  drainRunnerSignal,
  forgetRunnerUpdate,
  registerRunnerSignal,
  releaseSlotSignal,
  removeScriptsSignal,
  reserveSlotUpdate,
  runnerAvailableSignal,
  runnerStateQuery,
  RUNNER_NOT_FORGETTABLE,
  runnerTaskQueue,
  setRunnerHealthSignal,
  slotGrantedSignal,
  syncScriptsSignal,
  type RunnerState,
  type WantedScripts,
} from './messages.js';
import { inFlight } from './in-flight.js';
import { createScriptSync } from './script-sync.js';

/** Patch ids: runner workflows started before script sync existed keep replaying as they ran. */
const SCRIPT_SYNC_PATCH = 'script-sync';
const SCRIPT_SYNC_UPGRADE_PATCH = 'script-sync-upgrade';
/** The presence activity carries a summary (which runner process holds it) for the Temporal UI. */
const PRESENCE_SUMMARY_PATCH = 'presence-summary';
/**
 * A forgotten runner's workflow ends. Only histories with a forget update reach the check, so older ones
 * never call it; the marker records which code decided. (The last heartbeat kept in the state adds no command.)
 */
const FORGET_PATCH = 'runner-forget';

/** Runs refused for lack of room that are woken when a slot frees; bounded so history stays small. */
const MAX_WAITERS = 200;
/**
 * A freed slot is granted to the first run of the runner's queue (priority, then arrival) instead of
 * waking runs to race for it; the queue is carried across continue-as-new and holds more runs.
 */
const SLOT_GRANTS_PATCH = 'slot-grants';
const MAX_QUEUED_RUNS = 5_000;
/** A runner workflow still on the control queue (started before the fleet queue) moves to it when it continues as new. */
const FLEET_QUEUE_PATCH = 'fleet-queue';
/** Grants in flight reach their runs before the workflow continues as new: Temporal drops a closed run's signals. */
const GRANTS_BEFORE_CONTINUE_PATCH = 'grants-before-continue';
/** A run that gives a slot back also leaves this runner's queue: it has a slot elsewhere, or no longer waits. */
const RELEASE_LEAVES_QUEUE_PATCH = 'release-leaves-queue';

/** A run waiting in this runner's queue. */
interface QueuedRun {
  run_id: string;
  workflow_id: string;
  priority: number;
}

/** How long a runner may miss heartbeats before it is shown offline. */
const PRESENCE_HEARTBEAT_TIMEOUT = '6 seconds';

type RunnerActivities = ReturnType<typeof createRunnerActivities>;

/**
 * One long-lived workflow per runner (`runner-<runner_id>`): its registration, liveness,
 * capacity bookkeeping and mailbox. Liveness comes from a presence activity that the runner
 * holds and heartbeats for as long as its process lives: heartbeats add no history, and a
 * missed heartbeat tells this workflow the runner is gone within a bounded time.
 */
export async function runnerWorkflow(carried?: RunnerState, carriedScripts?: WantedScripts, carriedQueue?: QueuedRun[]): Promise<void> {
  // State carried from a run of this workflow before the script fields existed gets them empty.
  let state: RunnerState | undefined = carried ? { ...carried, scripts: carried.scripts ?? {}, script_failures: carried.script_failures ?? {} } : undefined;
  let instanceGeneration = 0;
  /** Set by an admin's forget: the workflow ends instead of waiting for the runner to come back. */
  let forgotten = false;
  /** Set when this workflow leaves the control queue for the fleet queue (continue-as-new). */
  let moving = false;
  const waiters: string[] = [];
  /** Runs queued for a slot (slot grants): highest priority first, equal priorities in arrival order. */
  const queue: QueuedRun[] = [...(carriedQueue ?? [])];
  /** Grants signalled and not yet delivered. */
  const granting = inFlight();
  const scriptSync = createScriptSync(
    {
      state: () => state!,
      update: (change) => {
        state = change(state!);
      },
      generation: () => instanceGeneration,
      ending: () => workflowInfo().continueAsNewSuggested || moving,
    },
    carriedScripts,
  );

  const now = (): string => new Date().toISOString();
  const publish = (current: RunnerState): void => {
    const reg = current.registration;
    upsertSearchAttributes([
      { key: searchAttributes.runnerId, value: reg.runner_id },
      { key: searchAttributes.profile, value: reg.executor_profile },
      { key: searchAttributes.executorType, value: reg.executor.type },
      { key: searchAttributes.hostname, value: reg.hostname },
      { key: searchAttributes.tags, value: reg.tags },
      { key: searchAttributes.runnerOnline, value: takesRuns(current) },
    ]);
  };
  const markOffline = (reason: string, lastHeartbeatAt?: string): void => {
    if (!state || !state.online) return;
    const heard = lastHeartbeatAt ?? state.last_heartbeat_at;
    state = { ...state, online: false, offline_reason: reason, since: now(), draining: false, ...(heard ? { last_heartbeat_at: heard } : {}) };
    publish(state);
    releaseQueue();
  };

  setHandler(runnerStateQuery, () => {
    if (!state) throw new Error('runner has not registered yet');
    return state;
  });

  setHandler(registerRunnerSignal, (registration: RunnerRegistration) => {
    const previous = state;
    if (previous?.registration.instance.id !== registration.instance.id) instanceGeneration += 1;
    state = {
      registration,
      online: true,
      since: previous?.online ? previous.since : now(),
      // Runs still holding slots keep them until they release; a restarted runner resumes them.
      active_runs: previous?.active_runs ?? [],
      draining: false,
      scripts: previous?.scripts ?? {},
      script_failures: previous?.script_failures ?? {},
    };
    publish(state);
    // A runner that comes back (or with more capacity) serves its queue; only histories with grants have one.
    if (queue.length) grantSlots();
  });

  setHandler(drainRunnerSignal, ({ instance_id }) => {
    if (!state || state.registration.instance.id !== instance_id) return;
    state = { ...state, draining: true };
    publish(state);
    releaseQueue();
  });

  setHandler(setRunnerHealthSignal, ({ instance_id, healthy, reason }) => {
    if (!state || state.registration.instance.id !== instance_id) return;
    const { unhealthy_reason: _previous, ...rest } = state;
    state = healthy ? rest : { ...rest, unhealthy_reason: reason ?? 'health check failed' };
    publish(state);
    if (!healthy) releaseQueue();
  });

  setHandler(deregisterRunnerSignal, ({ instance_id }) => {
    // The runner itself sent this: it was heard from just now.
    if (state?.registration.instance.id === instance_id) markOffline('runner shut down', now());
  });

  setHandler(releaseSlotSignal, ({ run_id }) => {
    if (!state) return;
    if (queue.some((queued) => queued.run_id === run_id) && patched(RELEASE_LEAVES_QUEUE_PATCH)) dequeue(run_id);
    state = { ...state, active_runs: state.active_runs.filter((id) => id !== run_id) };
    if (patched(SLOT_GRANTS_PATCH)) grantSlots();
    else wakeWaiters(state.registration.capacity - state.active_runs.length);
  });

  setHandler(reserveSlotUpdate, ({ run_id, workflow_id, queue: join, priority, script }) => {
    if (!state) return { accepted: false, reason: 'runner has not registered' };
    // Only new callers ask to queue or send a script: older histories never reach the grant code.
    const grants = join !== undefined || script !== undefined ? patched(SLOT_GRANTS_PATCH) : false;
    const reply = (answer: { accepted: boolean; reason?: string; queued?: boolean }) => (grants ? { ...answer, state: state!, queue_length: queue.length } : answer);
    if (state.active_runs.includes(run_id)) return reply({ accepted: true });
    const refused = notTakingRunsReason(state);
    if (refused) return reply({ accepted: false, reason: refused });
    if (script && state.scripts[script.name]?.version !== script.version) {
      return reply({ accepted: false, reason: `script ${script.name} is not installed at version ${script.version.slice(0, 12)}` });
    }
    if (state.active_runs.length >= state.registration.capacity) {
      if (grants && join) {
        enqueue({ run_id, workflow_id, priority: priority ?? 0 });
        return reply({ accepted: false, reason: 'runner is at capacity', queued: true });
      }
      if (!grants && !waiters.includes(workflow_id) && waiters.length < MAX_WAITERS) waiters.push(workflow_id);
      return reply({ accepted: false, reason: 'runner is at capacity' });
    }
    dequeue(run_id);
    state = { ...state, active_runs: [...state.active_runs, run_id] };
    return reply({ accepted: true });
  });

  setHandler(
    forgetRunnerUpdate,
    (_request) => {
      forgotten = true;
      return { forgotten: true as const };
    },
    {
      validator: (_request) => {
        const refused = state ? notForgettableReason(state) : 'runner has not registered';
        if (refused) throw ApplicationFailure.create({ type: RUNNER_NOT_FORGETTABLE, message: refused, nonRetryable: true });
      },
    },
  );

  setHandler(syncScriptsSignal, ({ scripts }) => scriptSync.onSync(scripts));
  setHandler(removeScriptsSignal, ({ names }) => scriptSync.onRemove(names));

  function enqueue(run: QueuedRun): void {
    if (queue.some((queued) => queued.run_id === run.run_id) || queue.length >= MAX_QUEUED_RUNS) return;
    // After every run of the same or a higher priority: equal priorities are served in arrival order.
    const at = queue.findIndex((queued) => queued.priority < run.priority);
    queue.splice(at < 0 ? queue.length : at, 0, run);
  }

  function dequeue(runId: string): void {
    const at = queue.findIndex((queued) => queued.run_id === runId);
    if (at >= 0) queue.splice(at, 1);
  }

  /** Free slots go to the head of the queue, reserved before the run hears of them. */
  function grantSlots(): void {
    while (state && queue.length && !notTakingRunsReason(state) && state.active_runs.length < state.registration.capacity) {
      const next = queue.shift()!;
      state = { ...state, active_runs: [...state.active_runs, next.run_id] };
      const { runner_id, hostname, project_dir, executor_profile } = state.registration;
      const grant = getExternalWorkflowHandle(next.workflow_id)
        .signal(slotGrantedSignal, { runner: { runner_id, hostname, project_dir, executor_profile } })
        .catch(() => {
          // The run has ended: its slot goes to the next one.
          if (!state) return;
          state = { ...state, active_runs: state.active_runs.filter((id) => id !== next.run_id) };
          grantSlots();
        });
      granting.track(grant);
    }
  }

  /** A runner that stops taking runs sends its queue to look elsewhere (only histories with grants have one). */
  function releaseQueue(): void {
    for (const run of queue.splice(0)) getExternalWorkflowHandle(run.workflow_id).signal(runnerAvailableSignal).catch(() => undefined);
  }

  function wakeWaiters(freeSlots: number): void {
    for (const workflowId of waiters.splice(0, Math.max(0, freeSlots))) {
      // A run that has ended or was dispatched elsewhere ignores the signal, or is gone.
      getExternalWorkflowHandle(workflowId).signal(runnerAvailableSignal).catch(() => undefined);
    }
  }

  await condition(() => state !== undefined);
  // Histories from before script sync replay without it; such a runner gets it with its next run (below).
  const syncing = patched(SCRIPT_SYNC_PATCH) ? scriptSync.loop() : undefined;

  for (;;) {
    // Only a forget can be set in histories that have it: older ones wait exactly as they did.
    await condition(() => state!.online || workflowInfo().continueAsNewSuggested || forgotten);
    // A registration that raced the forget wins: the runner is back.
    if (forgotten && !state!.online && patched(FORGET_PATCH)) break;
    forgotten = false;
    if (workflowInfo().continueAsNewSuggested) break;
    // Still on the control queue, where a pick could wait on this workflow behind its own slot: move.
    if (workflowInfo().taskQueue !== FLEET_TASK_QUEUE && patched(FLEET_QUEUE_PATCH)) {
      moving = true;
      break;
    }
    // A runner that comes back to a workflow from before script sync starts a fresh run of it, which has sync.
    if (!syncing && patched(SCRIPT_SYNC_UPGRADE_PATCH)) break;
    const generation = instanceGeneration;
    const runnerId = state!.registration.runner_id;
    const { holdPresence } = proxyActivities<RunnerActivities>({
      taskQueue: runnerTaskQueue(runnerId),
      heartbeatTimeout: PRESENCE_HEARTBEAT_TIMEOUT,
      // A runner that cannot even pick up its presence task is as gone as one that stops heartbeating.
      scheduleToStartTimeout: PRESENCE_HEARTBEAT_TIMEOUT,
      startToCloseTimeout: '3650 days',
      retry: { maximumAttempts: 1 },
      // A dead runner cannot acknowledge a cancel: never wait for one (and none is sent, see below).
      cancellationType: ActivityCancellationType.ABANDON,
    });
    const { instance, hostname } = state!.registration;
    const summary = patched(PRESENCE_SUMMARY_PATCH) ? { summary: `runner ${runnerId} is alive: pid ${instance.pid} on ${hostname}` } : {};
    const presence = holdPresence.executeWithOptions(summary, []).then(
      () => ({ outcome: 'ended' as const, heard: now() }),
      (error: unknown) => ({ outcome: 'lost' as const, heard: lastHeartbeatOf(error) }),
    );
    const ending = await Promise.race([
      presence,
      condition(() => instanceGeneration !== generation || workflowInfo().continueAsNewSuggested).then(() => ({ outcome: 'interrupted' as const, heard: undefined })),
    ]);
    const { outcome } = ending;
    if (outcome === 'interrupted') {
      // A new instance registered, or history is long: the next presence hold starts afresh. The old one is
      // left to end by itself (time out, or complete on the new process that picked it up), not cancelled:
      // an abandoned activity's later timeout or completion fails every workflow task in the SDK's state
      // machine ("ActivityMachine in state Canceled"). Abandoning sends no command, so leaving it is
      // replay-compatible, and heals runner workflows that histories left stuck that way.
      if (!syncing && patched(SCRIPT_SYNC_UPGRADE_PATCH)) break;
      continue;
    }
    if (instanceGeneration !== generation) continue;
    markOffline(outcome === 'ended' ? 'runner shut down' : 'runner stopped heartbeating (process gone or unreachable)', ending.heard);
  }
  if (forgotten) {
    // Forgotten: the workflow ends here (no continue-as-new); a returning runner's registration starts a new one.
    await condition(allHandlersFinished);
    return;
  }
  await syncing;
  await condition(allHandlersFinished);
  if (granting.size && patched(GRANTS_BEFORE_CONTINUE_PATCH)) await granting.settled();
  // Waiting runs poll on their own as well; dropping the waiter list here loses no run. The queue is carried.
  const next = patched(FLEET_QUEUE_PATCH) ? makeContinueAsNewFunc<typeof runnerWorkflow>({ taskQueue: FLEET_TASK_QUEUE }) : continueAsNew<typeof runnerWorkflow>;
  if (queue.length) await next(state, scriptSync.wanted, queue);
  else await next(state, scriptSync.wanted);
}

/** When a lost presence hold last heartbeat: its heartbeat timeout carries the last details the runner sent. */
function lastHeartbeatOf(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  if (!(cause instanceof TimeoutFailure)) return undefined;
  const details = cause.lastHeartbeatDetails as Partial<PresenceHeartbeat> | undefined;
  return typeof details?.at === 'string' ? details.at : undefined;
}

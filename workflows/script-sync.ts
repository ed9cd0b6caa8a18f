import { ActivityFailure, ApplicationFailure, condition, proxyActivities } from '@temporalio/workflow';
import type { createControlActivities } from '../activities/control.js';
import type { createScriptActivities } from '../activities/scripts.js';
import { CONTROL_TASK_QUEUE, runnerTaskQueue, type RunnerState, type WantedScripts } from './messages.js';
import { STALE_SCRIPT_REQUEST_FAILURES } from '../core/contract/plain/fleet.js';

type ScriptActivities = ReturnType<typeof createScriptActivities>;
type ControlActivities = ReturnType<typeof createControlActivities>;

/** Without signals a runner still re-reads the whole script list this often: a lost signal costs at most this. */
const FULL_RECONCILE_INTERVAL_MS = 10 * 60_000;
const FIRST_RETRY_MS = 15_000;
const MAX_RETRY_MS = 10 * 60_000;

const { listScriptVersions } = proxyActivities<ControlActivities>({
  taskQueue: CONTROL_TASK_QUEUE,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

export interface ScriptSyncHost {
  state(): RunnerState;
  update(change: (state: RunnerState) => RunnerState): void;
  /** Bumped when a new runner process registers: its disk may hold anything. */
  generation(): number;
  /** The workflow is about to continue as new: the loop returns. */
  ending(): boolean;
}

type Operation = { kind: 'install'; name: string; version: string } | { kind: 'remove'; name: string };

/**
 * Keeps one runner's scripts in step with the config. Signals say what changed; a new runner
 * instance (and, as a safety net, a timer) triggers a full reconcile: the wanted list from the
 * config, the installed list from the runner's own disk. Installs and removals run one at a time on
 * the runner's queue; a failure is recorded on the runner and retried with a growing pause.
 */
export function createScriptSync(host: ScriptSyncHost, carriedWanted: WantedScripts = {}) {
  const wanted: WantedScripts = { ...carriedWanted };
  /** Names changed by signals since the last config listing began: the signal is newer than the listing. */
  const touched = new Set<string>();
  let reconciledGeneration = -1;
  let reconcileDue = true;
  let lastReconcileAt = 0;

  const runnerActivities = (): ScriptActivities =>
    proxyActivities<ScriptActivities>({
      taskQueue: runnerTaskQueue(host.state().registration.runner_id),
      // A runner that does not pick the task up soon is gone; the sync waits for it to come back.
      scheduleToStartTimeout: '30 seconds',
      startToCloseTimeout: '2 minutes',
      retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
    });

  /** Everything the runner lacks or has too much of, whatever its failures. */
  function pendingOperations(): Operation[] {
    const { scripts } = host.state();
    const operations: Operation[] = [];
    for (const [name, version] of Object.entries(wanted)) if (scripts[name]?.version !== version) operations.push({ kind: 'install', name, version });
    for (const name of Object.keys(scripts)) if (!(name in wanted)) operations.push({ kind: 'remove', name });
    return operations;
  }

  const failureVersion = (operation: Operation): string => (operation.kind === 'install' ? operation.version : 'removed');

  /** How long until this operation may be tried: 0 unless it failed recently. */
  function waitFor(operation: Operation): number {
    const failed = host.state().script_failures[operation.name];
    if (!failed || failed.version !== failureVersion(operation)) return 0;
    return Math.max(0, Date.parse(failed.next_attempt_at) - Date.now());
  }

  function nextOperation(): Operation | undefined {
    return pendingOperations().find((operation) => waitFor(operation) === 0);
  }

  /** When the earliest failed operation that is still wanted may be tried again, or undefined when none waits. */
  function nextRetryInMs(): number | undefined {
    const waits = pendingOperations().map(waitFor).filter((ms) => ms > 0);
    return waits.length ? Math.min(...waits) : undefined;
  }

  /** Failures of operations no longer wanted (the script was changed back, or deleted) are dropped, not retried. */
  function pruneFailures(): void {
    const pending = new Set(pendingOperations().map((operation) => `${operation.name}\0${failureVersion(operation)}`));
    const failures = Object.entries(host.state().script_failures);
    const kept = failures.filter(([name, failure]) => pending.has(`${name}\0${failure.version}`));
    if (kept.length < failures.length) host.update((state) => ({ ...state, script_failures: Object.fromEntries(kept) }));
  }

  const online = (): boolean => host.state().online;
  const reconcileWanted = (): boolean => reconcileDue || reconciledGeneration !== host.generation() || Date.now() - lastReconcileAt >= FULL_RECONCILE_INTERVAL_MS;
  const workPending = (): boolean => online() && (reconcileWanted() || nextOperation() !== undefined);

  async function reconcile(): Promise<void> {
    const generation = host.generation();
    touched.clear();
    const listed = await listScriptVersions();
    for (const name of Object.keys(wanted)) if (!(name in listed) && !touched.has(name)) delete wanted[name];
    for (const [name, version] of Object.entries(listed)) if (!touched.has(name)) wanted[name] = version;
    const onDisk = await runnerActivities().inspectScripts();
    host.update((state) => ({ ...state, scripts: onDisk }));
    reconciledGeneration = generation;
    reconcileDue = false;
    lastReconcileAt = Date.now();
  }

  async function perform(operation: Operation): Promise<void> {
    const activities = runnerActivities();
    try {
      if (operation.kind === 'install') {
        const installed = await activities.installScript({ name: operation.name, version: operation.version });
        host.update((state) => ({ ...state, scripts: { ...state.scripts, [operation.name]: installed } }));
      } else {
        await activities.removeScript({ name: operation.name });
        host.update((state) => ({ ...state, scripts: without(state.scripts, operation.name) }));
      }
      host.update((state) => ({ ...state, script_failures: without(state.script_failures, operation.name) }));
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      if (error.cause instanceof ApplicationFailure && STALE_SCRIPT_REQUEST_FAILURES.includes(error.cause.type ?? '')) {
        // The config moved on since this was asked (signals can cross): re-read it rather than retry.
        reconcileDue = true;
        return;
      }
      const cause = error.cause instanceof Error ? error.cause.message : error.message;
      host.update((state) => {
        const previous = state.script_failures[operation.name];
        const attempts = previous && previous.version === failureVersion(operation) ? previous.attempts + 1 : 1;
        const pause = Math.min(FIRST_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_MS);
        return {
          ...state,
          script_failures: {
            ...state.script_failures,
            [operation.name]: { version: failureVersion(operation), error: cause, at: new Date().toISOString(), attempts, next_attempt_at: new Date(Date.now() + pause).toISOString() },
          },
        };
      });
    }
  }

  return {
    wanted,

    onSync(scripts: Array<{ name: string; version: string }>): void {
      for (const { name, version } of scripts) {
        wanted[name] = version;
        touched.add(name);
      }
    },

    onRemove(names: string[]): void {
      for (const name of names) {
        delete wanted[name];
        touched.add(name);
      }
    },

    /** Runs until the workflow should continue as new. */
    async loop(): Promise<void> {
      for (;;) {
        pruneFailures();
        const retryIn = nextRetryInMs();
        const untilReconcile = Math.max(1, lastReconcileAt + FULL_RECONCILE_INTERVAL_MS - Date.now());
        // Offline, nothing runs: the timer only re-checks; signals and a registration wake the loop at once.
        await condition(() => workPending() || host.ending(), Math.min(retryIn ?? untilReconcile, untilReconcile) + 1);
        if (host.ending()) return;
        if (!workPending()) {
          if (!online()) await condition(() => online() || host.ending());
          continue;
        }
        if (reconcileWanted()) {
          const generation = host.generation();
          const reconciled = await reconcile().then(
            () => true,
            (error: unknown) => {
              if (error instanceof ActivityFailure) return false;
              throw error;
            },
          );
          if (!reconciled) {
            // The runner went away mid-reconcile: try again after a pause, or at once when a new instance registers.
            reconcileDue = true;
            await condition(() => host.generation() !== generation || host.ending(), FIRST_RETRY_MS);
          }
          continue;
        }
        const operation = nextOperation();
        if (operation) await perform(operation);
      }
    },
  };
}

import type { Client } from '@temporalio/client';
import type { InjectedSinks } from '@temporalio/worker';
import type { FleetSinks } from '../workflows/fleet-sink.js';
import { takesRuns } from '../core/contract/fleet.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { RUNNER_WORKFLOW_TYPE, runnerStateQuery, type RunnerState } from '../workflows/messages.js';

/** A view older than this is refreshed in the background on the next pick; the pick itself does not wait. */
const REFRESH_AFTER_MS = 5_000;
/** A refresh that ended this recently counts as fresh: many runs finding no room at once share one. */
const FRESH_ENOUGH_MS = 100;
/**
 * How often a refresh queries every listed runner again; between, it queries only runners that are
 * new to the view or whose listed registration (tags, profile) changed. A query is a workflow task on
 * the control worker's own queue: a fleet of hundreds queried on every busy pick starves the runs.
 */
const EVERY_RUNNER_AFTER_MS = 60_000;
/**
 * A view whose runners were all read this recently answers a queued run looking again: a slot that
 * freed reaches the view only through a reply or a read of that runner, and a queued run looks
 * again because one may have (workflows/dispatch.ts). Many queued runs share one read this way.
 */
const SLOTS_FRESH_MS = 5_000;
/** Runner workflows queried at once. */
const QUERY_CONCURRENCY = 16;

/**
 * How fresh a pick needs the view: as it is, with new and changed runners read, every runner read
 * within SLOTS_FRESH_MS (`slots`), or every runner read again.
 */
export type Freshness = 'as-is' | 'changes' | 'slots' | 'every-runner';

/** A runner workflow as visibility lists it. */
interface Listed {
  workflowId: string;
  runnerId?: string;
  profile?: string;
  tags?: string[];
}

/**
 * The fleet as the control worker last saw it, kept in memory so a pick costs no per-runner query.
 * It is fed by the runner workflows' own answers (every `reserveSlot` reply carries the runner's
 * state), by the runs on this worker as they give their slots back (`fleetViewSinks`), and refreshed from visibility when it is old or cannot answer (no runner with room in
 * it), querying the runners it does not know yet or whose registration changed, and every runner
 * only now and then or when no runner matches a run. It is a hint: the runner workflow's `reserveSlot` decides,
 * so a stale view can cost a refused reservation, never an exceeded capacity.
 */
export class FleetView {
  readonly #client: Client;
  #runners = new Map<string, RunnerState>();
  /** How many runs wait in each runner's queue, as its last reply said. */
  readonly #queueLengths = new Map<string, number>();
  /** Reservations in flight from this worker, by runner: concurrent picks spread instead of all asking the same runner. */
  readonly #claims = new Map<string, Set<string>>();
  /** Each run's reservations in flight: a retried pick waits for its earlier attempt's before it looks. */
  readonly #inFlight = new Map<string, Set<Promise<unknown>>>();
  #refreshedAt = 0;
  #everyRunnerAt = 0;
  #refreshing: { freshness: Exclude<Freshness, 'as-is' | 'slots'>; done: Promise<void> } | undefined;

  constructor(client: Client) {
    this.#client = client;
  }

  /** The runners that take runs, after a refresh of the asked freshness (unless one just ended). */
  async runners({ fresh }: { fresh: Freshness }): Promise<RunnerState[]> {
    const age = Date.now() - this.#refreshedAt;
    if (this.#refreshedAt === 0) await this.refresh('every-runner');
    else if (fresh === 'slots') {
      if (Date.now() - this.#everyRunnerAt > SLOTS_FRESH_MS) await this.refresh('every-runner');
    } else if (fresh !== 'as-is' && age > FRESH_ENOUGH_MS) await this.refresh(fresh);
    else if (age > REFRESH_AFTER_MS) void this.refresh('changes').catch(() => undefined);
    return [...this.#runners.values()].filter(takesRuns);
  }

  /** A runner workflow's own answer: newer than anything the view holds. */
  note(state: RunnerState, queueLength: number): void {
    this.#runners.set(state.registration.runner_id, state);
    this.#queueLengths.set(state.registration.runner_id, queueLength);
  }

  /**
   * A run on this worker gave its slot on `runnerId` back. Without this the view would count the slot
   * taken until its next read of that runner, and send the next run to the runner it last reserved
   * on when another had more room.
   */
  freed(runnerId: string, runId: string): void {
    const state = this.#runners.get(runnerId);
    if (state?.active_runs.includes(runId)) this.#runners.set(runnerId, { ...state, active_runs: state.active_runs.filter((id) => id !== runId) });
  }

  /** A run on this worker was granted a slot on `runnerId` from its queue: that slot is no longer free, and the queue is one shorter. */
  granted(runnerId: string, runId: string): void {
    const state = this.#runners.get(runnerId);
    if (!state || state.active_runs.includes(runId)) return;
    this.#runners.set(runnerId, { ...state, active_runs: [...state.active_runs, runId] });
    this.#queueLengths.set(runnerId, Math.max(0, this.queueLength(runnerId) - 1));
  }

  /** Slots this worker is asking a runner for right now, other than `runId`'s. */
  claimed(runnerId: string, runId: string): number {
    const claims = this.#claims.get(runnerId);
    return claims ? claims.size - (claims.has(runId) ? 1 : 0) : 0;
  }

  /** Counts a reservation in flight until `done` settles. */
  async claiming<T>(runnerId: string, runId: string, done: () => Promise<T>): Promise<T> {
    const claims = this.#claims.get(runnerId) ?? new Set<string>();
    this.#claims.set(runnerId, claims.add(runId));
    const pending = this.#inFlight.get(runId) ?? new Set<Promise<unknown>>();
    this.#inFlight.set(runId, pending);
    const reply = done();
    pending.add(reply);
    try {
      return await reply;
    } finally {
      claims.delete(runId);
      if (claims.size === 0) this.#claims.delete(runnerId);
      pending.delete(reply);
      if (pending.size === 0) this.#inFlight.delete(runId);
    }
  }

  /**
   * Once no reservation of `runId` is in flight (an attempt of its pick that timed out may still be
   * asking), the runner whose slot it holds, as the view knows: a retried pick takes that slot
   * instead of leaving it held by a run that went elsewhere.
   */
  async holding(runId: string): Promise<string | undefined> {
    const pending = this.#inFlight.get(runId);
    if (pending) await Promise.allSettled([...pending]);
    for (const [runnerId, state] of this.#runners) if (state.active_runs.includes(runId)) return runnerId;
    return undefined;
  }

  queueLength(runnerId: string): number {
    return this.#queueLengths.get(runnerId) ?? 0;
  }

  forget(runnerId: string): void {
    this.#runners.delete(runnerId);
    this.#queueLengths.delete(runnerId);
  }

  /** One refresh at a time: concurrent picks share it (one reading every runner also serves one asking for changes). */
  async refresh(freshness: Exclude<Freshness, 'as-is' | 'slots'> = 'changes'): Promise<void> {
    const running = this.#refreshing;
    if (running && (running.freshness === 'every-runner' || freshness === 'changes')) return running.done;
    if (running) {
      // Asked for more than the running one reads: after it, share whatever runs then (another waiter may have started it).
      await running.done.catch(() => undefined);
      return this.refresh(freshness);
    }
    const everyRunner = freshness === 'every-runner' || Date.now() - this.#everyRunnerAt > EVERY_RUNNER_AFTER_MS;
    const done = this.#load(everyRunner).finally(() => {
      this.#refreshing = undefined;
    });
    this.#refreshing = { freshness: everyRunner ? 'every-runner' : 'changes', done };
    return done;
  }

  async #load(everyRunner: boolean): Promise<void> {
    const query = visibility.allOf(visibility.workflowTypeIs(RUNNER_WORKFLOW_TYPE), visibility.isRunning(), visibility.attributeIs(searchAttributes.runnerOnline, true));
    const listed: Listed[] = [];
    for await (const execution of this.#client.workflow.list({ query })) {
      const attributes = execution.typedSearchAttributes;
      listed.push({
        workflowId: execution.workflowId,
        runnerId: attributes.get(searchAttributes.runnerId),
        profile: attributes.get(searchAttributes.profile),
        tags: attributes.get(searchAttributes.tags),
      });
    }
    const known = (entry: Listed): RunnerState | undefined => (entry.runnerId === undefined ? undefined : this.#runners.get(entry.runnerId));
    const stale = listed.filter((entry) => everyRunner || !sameRegistration(known(entry), entry));
    // Visibility lags; each workflow's own state is the truth.
    const answers = await queryEach(stale, (entry) => this.#client.workflow.getHandle(entry.workflowId).query(runnerStateQuery).catch(() => undefined));
    const runners = new Map<string, RunnerState>();
    for (const entry of listed) {
      // One that did not answer (a busy control worker) keeps what the view knew: it is listed online.
      const state = answers.get(entry.workflowId) ?? known(entry);
      if (state) runners.set(state.registration.runner_id, state);
    }
    this.#runners = runners;
    this.#refreshedAt = Date.now();
    if (everyRunner) this.#everyRunnerAt = this.#refreshedAt;
  }
}

/** The worker side of workflows/fleet-sink.ts: what the runs say of their slots reaches `view`. */
export function fleetViewSinks(view: Pick<FleetView, 'freed' | 'granted'>): InjectedSinks<FleetSinks> {
  return {
    fleet: {
      slotFreed: { fn: (_info, runnerId, runId) => view.freed(runnerId, runId) },
      slotGranted: { fn: (_info, runnerId, runId) => view.granted(runnerId, runId) },
    },
  };
}

/** Whether what visibility lists of a runner is what the view holds (the rest of its state comes with its replies). */
function sameRegistration(state: RunnerState | undefined, listed: Listed): boolean {
  if (!state) return false;
  const { executor_profile: profile, tags } = state.registration;
  return profile === listed.profile && [...tags].sort().join('\n') === [...(listed.tags ?? [])].sort().join('\n');
}

/** `ask` for each entry, QUERY_CONCURRENCY at a time: the answers by workflow id. */
async function queryEach(entries: Listed[], ask: (entry: Listed) => Promise<RunnerState | undefined>): Promise<Map<string, RunnerState>> {
  const answers = new Map<string, RunnerState>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++]!;
      const state = await ask(entry);
      if (state) answers.set(entry.workflowId, state);
    }
  };
  await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, entries.length) }, lane));
  return answers;
}

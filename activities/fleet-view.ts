import type { Client } from '@temporalio/client';
import { takesRuns } from '../core/contract/fleet.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { RUNNER_WORKFLOW_TYPE, runnerStateQuery, type RunnerState } from '../workflows/messages.js';

/** A view older than this is refreshed in the background on the next pick; the pick itself does not wait. */
const REFRESH_AFTER_MS = 5_000;
/** A refresh that ended this recently counts as fresh: many runs finding no room at once share one. */
const FRESH_ENOUGH_MS = 100;

/**
 * The fleet as the control worker last saw it, kept in memory so a pick costs no per-runner query.
 * It is fed by the runner workflows' own answers (every `reserveSlot` reply carries the runner's
 * state) and refreshed from visibility + one query per runner only when it is old or cannot
 * answer (no runner with room in it). It is a hint: the runner workflow's `reserveSlot` decides,
 * so a stale view can cost a refused reservation, never an exceeded capacity.
 */
export class FleetView {
  readonly #client: Client;
  #runners = new Map<string, RunnerState>();
  /** How many runs wait in each runner's queue, as its last reply said. */
  readonly #queueLengths = new Map<string, number>();
  /** Reservations in flight from this worker, by runner: concurrent picks spread instead of all asking the same runner. */
  readonly #claims = new Map<string, Set<string>>();
  #refreshedAt = 0;
  #refreshing: Promise<void> | undefined;

  constructor(client: Client) {
    this.#client = client;
  }

  /** The runners that take runs; `fresh` waits for a refresh from the runner workflows first (unless one just ended). */
  async runners({ fresh }: { fresh: boolean }): Promise<RunnerState[]> {
    if ((fresh && Date.now() - this.#refreshedAt > FRESH_ENOUGH_MS) || this.#refreshedAt === 0) await this.refresh();
    else if (Date.now() - this.#refreshedAt > REFRESH_AFTER_MS) void this.refresh().catch(() => undefined);
    return [...this.#runners.values()].filter(takesRuns);
  }

  /** A runner workflow's own answer: newer than anything the view holds. */
  note(state: RunnerState, queueLength: number): void {
    this.#runners.set(state.registration.runner_id, state);
    this.#queueLengths.set(state.registration.runner_id, queueLength);
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
    try {
      return await done();
    } finally {
      claims.delete(runId);
      if (claims.size === 0) this.#claims.delete(runnerId);
    }
  }

  queueLength(runnerId: string): number {
    return this.#queueLengths.get(runnerId) ?? 0;
  }

  forget(runnerId: string): void {
    this.#runners.delete(runnerId);
    this.#queueLengths.delete(runnerId);
  }

  /** One refresh at a time: concurrent picks share it. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#load().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    const query = visibility.allOf(visibility.workflowTypeIs(RUNNER_WORKFLOW_TYPE), visibility.isRunning(), visibility.attributeIs(searchAttributes.runnerOnline, true));
    const ids: string[] = [];
    for await (const execution of this.#client.workflow.list({ query })) ids.push(execution.workflowId);
    // Visibility lags; each workflow's own state is the truth.
    const states = await Promise.all(ids.map((id) => this.#client.workflow.getHandle(id).query(runnerStateQuery).catch(() => undefined)));
    const runners = new Map<string, RunnerState>();
    for (const state of states) if (state) runners.set(state.registration.runner_id, state);
    this.#runners = runners;
    this.#refreshedAt = Date.now();
  }
}

import type { Client } from '@temporalio/client';
import { ForbiddenError } from '../core/contract/errors.js';
import type { RunEventInput } from '../core/contract/events.js';
import type { Principal } from '../core/contract/identity.js';
import { readRunState } from '../core/temporal/run-state.js';
import { runWorkflowId, runnerStateQuery, runnerWorkflowId } from '../workflows/messages.js';

const MAX_CACHED = 10_000;
/** A runner's credential is read again after this long, so a re-registered runner is seen. */
const CREDENTIAL_TTL_MS = 30_000;

/**
 * Decides which events a runner may post: only for runs that were ever assigned to a runner
 * registered with the poster's credential, filed under the poster's name, so nobody can post
 * under another runner's source. A run is checked once per credential (a query of the run and of
 * its runners), then remembered: batches cost no Temporal call.
 */
export class EventAdmission {
  private readonly admitted = new Set<string>();
  private readonly credentials = new Map<string, { credential: string | undefined; at: number }>();

  constructor(private readonly client: Client) {}

  async admit(principal: Principal, events: RunEventInput[]): Promise<RunEventInput[]> {
    const runIds = [...new Set(events.map((event) => event.run_id))];
    const refused: string[] = [];
    for (const runId of runIds) if (!(await this.assigned(runId, principal.name))) refused.push(runId);
    if (refused.length) {
      throw new ForbiddenError(`runner credential "${principal.name}" was never assigned run(s) ${refused.join(', ')}; nothing was stored`, 'an assigned runner');
    }
    return events.map((event) => ({ ...event, source: `${principal.name}/${event.source}` }));
  }

  /** Refuses a runner credential that was never assigned the run (403). */
  async assertAssigned(principal: Principal, runId: string): Promise<void> {
    if (!(await this.assigned(runId, principal.name))) throw new ForbiddenError(`runner credential "${principal.name}" was never assigned run ${runId}`, 'an assigned runner');
  }

  private async assigned(runId: string, credential: string): Promise<boolean> {
    const key = `${runId}\0${credential}`;
    if (this.admitted.has(key)) return true;
    const state = await readRunState(this.client, runWorkflowId(runId)).catch(() => undefined);
    const runners = state?.assigned_runners ?? (state?.runner_id ? [state.runner_id] : []);
    for (const runnerId of runners) {
      if ((await this.credentialOf(runnerId)) !== credential) continue;
      if (this.admitted.size >= MAX_CACHED) this.admitted.clear();
      this.admitted.add(key);
      return true;
    }
    return false;
  }

  private async credentialOf(runnerId: string): Promise<string | undefined> {
    const cached = this.credentials.get(runnerId);
    if (cached && Date.now() - cached.at < CREDENTIAL_TTL_MS) return cached.credential;
    const state = await this.client.workflow
      .getHandle(runnerWorkflowId(runnerId))
      .query(runnerStateQuery)
      .catch(() => undefined);
    const credential = state?.registration.credential;
    if (this.credentials.size >= MAX_CACHED) this.credentials.clear();
    this.credentials.set(runnerId, { credential, at: Date.now() });
    return credential;
  }
}

import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { listProfiles, type ProfileListing } from '../core/config/profiles.js';
import { RunnerForgetRefusedError, RunnerNotFoundError } from '../core/contract/errors.js';
import { runnerStatus, type RunnerView } from '../core/contract/fleet.js';
import type { FleetOverview } from '../core/contract/fleet-overview.js';
import { visibility } from '../core/contract/search-attributes.js';
import { PRESENCE_ACTIVITY, RUNNER_WORKFLOW_TYPE, forgetRunnerUpdate, runnerStateQuery, runnerWorkflowId } from '../workflows/messages.js';

import { FleetOverviewService } from './fleet-overview.js';

export type { RunnerView } from '../core/contract/fleet.js';

export interface FleetServiceOptions {
  /**
   * How long a runner may be offline before `GET /runners` leaves it out (it is still there
   * with `all`, and until an admin forgets it). @defaultValue none: offline runners stay listed.
   */
  forgetAfterSeconds?: number;
}

/** Reads the fleet from the runner workflows; Temporal is the registry. */
export class FleetService {
  private readonly overviews: FleetOverviewService;

  constructor(private readonly client: Client, private readonly profilesDir: string, private readonly options: FleetServiceOptions = {}) {
    this.overviews = new FleetOverviewService(client, this);
  }

  /** Runs by status, slots used and free, runs waiting per demand. */
  overview(): Promise<FleetOverview> {
    return this.overviews.overview();
  }

  /** The registered runners; with `all: false`, without those offline for longer than `forgetAfterSeconds`. */
  async runners({ all = false }: { all?: boolean } = {}): Promise<RunnerView[]> {
    const { client } = this;
    const { forgetAfterSeconds } = this.options;
    const views: RunnerView[] = [];
    const query = visibility.allOf(visibility.workflowTypeIs(RUNNER_WORKFLOW_TYPE), visibility.isRunning());
    for await (const execution of client.workflow.list({ query })) {
      const handle = client.workflow.getHandle(execution.workflowId);
      const [state, description] = await Promise.all([handle.query(runnerStateQuery).catch(() => undefined), handle.describe().catch(() => undefined)]);
      if (!state) continue;
      const presence = description?.raw.pendingActivities?.find((activity) => activity.activityType?.name === PRESENCE_ACTIVITY);
      const seconds = presence?.lastHeartbeatTime?.seconds;
      const live = seconds === undefined || seconds === null ? undefined : new Date(Number(seconds) * 1000).toISOString();
      // Once the presence hold has ended, the workflow's record of its last heartbeat is all there is.
      const lastHeartbeat = live ?? state.last_heartbeat_at;
      views.push({
        ...state,
        runner_id: state.registration.runner_id,
        status: runnerStatus(state),
        load: state.active_runs.length,
        capacity: state.registration.capacity,
        ...(lastHeartbeat ? { last_heartbeat_at: lastHeartbeat } : {}),
      });
    }
    const shown = all || forgetAfterSeconds === undefined ? views : views.filter((view) => !isGone(view, forgetAfterSeconds, Date.now()));
    return shown.sort((a, b) => a.runner_id.localeCompare(b.runner_id));
  }

  /** Ends an offline runner's registration; refused (in the workflow, so no registration can slip in) otherwise. */
  async forget(runnerId: string, by: string): Promise<void> {
    try {
      await this.client.workflow.getHandle(runnerWorkflowId(runnerId)).executeUpdate(forgetRunnerUpdate, { args: [{ by }] });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new RunnerNotFoundError(runnerId);
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) throw new RunnerForgetRefusedError(runnerId, error.cause.message);
      throw error;
    }
  }

  profiles(): Promise<ProfileListing[]> {
    return listProfiles(this.profilesDir);
  }
}

/** Offline for longer than the drop-off time. */
function isGone(view: RunnerView, forgetAfterSeconds: number, now: number): boolean {
  return view.status === 'offline' && now - Date.parse(view.since) > forgetAfterSeconds * 1000;
}

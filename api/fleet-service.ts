import type { Client } from '@temporalio/client';
import { listProfiles, type ProfileListing } from '../core/config/profiles.js';
import { runnerStatus, type RunnerView } from '../core/contract/fleet.js';
import { visibility } from '../core/contract/search-attributes.js';
import { PRESENCE_ACTIVITY, RUNNER_WORKFLOW_TYPE, runnerStateQuery } from '../workflows/messages.js';

export type { RunnerView } from '../core/contract/fleet.js';

/** Reads the fleet from the runner workflows; Temporal is the registry. */
export class FleetService {
  constructor(private readonly client: Client, private readonly profilesDir: string) {}

  async runners(): Promise<RunnerView[]> {
    const views: RunnerView[] = [];
    const query = visibility.allOf(visibility.workflowTypeIs(RUNNER_WORKFLOW_TYPE), visibility.isRunning());
    for await (const execution of this.client.workflow.list({ query })) {
      const handle = this.client.workflow.getHandle(execution.workflowId);
      const [state, description] = await Promise.all([handle.query(runnerStateQuery).catch(() => undefined), handle.describe().catch(() => undefined)]);
      if (!state) continue;
      const presence = description?.raw.pendingActivities?.find((activity) => activity.activityType?.name === PRESENCE_ACTIVITY);
      const seconds = presence?.lastHeartbeatTime?.seconds;
      views.push({
        ...state,
        runner_id: state.registration.runner_id,
        status: runnerStatus(state),
        load: state.active_runs.length,
        capacity: state.registration.capacity,
        last_heartbeat_at: seconds === undefined || seconds === null ? undefined : new Date(Number(seconds) * 1000).toISOString(),
      });
    }
    return views.sort((a, b) => a.runner_id.localeCompare(b.runner_id));
  }

  profiles(): Promise<ProfileListing[]> {
    return listProfiles(this.profilesDir);
  }
}

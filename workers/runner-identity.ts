import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { PRESENCE_ACTIVITY, runnerStateQuery, runnerWorkflowId } from '../workflows/messages.js';

/** A presence heartbeat younger than this means another process holds the identity. */
const LIVE_HEARTBEAT_MS = 12_000;

export class RunnerIdentityTakenError extends Error {
  constructor(readonly runnerId: string, readonly holder: { hostname: string; pid: number; started_at: string }) {
    super(
      `runner ${runnerId} is already live: pid ${holder.pid} on ${holder.hostname} (started ${holder.started_at}) holds it. ` +
        'Stop that process, or start this one with another --project-dir or --profile.',
    );
    this.name = 'RunnerIdentityTakenError';
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuses to start a second live runner with the same identity; a crashed holder is taken over. */
export async function assertIdentityFree(client: Client, runnerId: string, hostname: string): Promise<void> {
  const handle = client.workflow.getHandle(runnerWorkflowId(runnerId));
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return;
    throw error;
  }
  if (description.status.name !== 'RUNNING') return;
  const state = await handle.query(runnerStateQuery).catch(() => undefined);
  if (!state?.online) return;
  const holder = { hostname: state.registration.hostname, ...state.registration.instance };
  // Same machine: the process table is the truth, whatever the heartbeat says.
  if (holder.hostname === hostname) {
    if (holder.pid !== process.pid && processIsAlive(holder.pid)) throw new RunnerIdentityTakenError(runnerId, holder);
    return;
  }
  const presence = description.raw.pendingActivities?.find((activity) => activity.activityType?.name === PRESENCE_ACTIVITY);
  const beat = presence?.lastHeartbeatTime?.seconds;
  if (beat !== undefined && beat !== null && Date.now() - Number(beat) * 1000 < LIVE_HEARTBEAT_MS) {
    throw new RunnerIdentityTakenError(runnerId, holder);
  }
}

import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities.js';

/** The task queue of the floor's activity: its own, as a runner's is. */
export const FLOOR_ACTIVITY_QUEUE = 'bench.floor.activity';

const { started } = proxyActivities<typeof activities>({ taskQueue: FLOOR_ACTIVITY_QUEUE, startToCloseTimeout: '1 minute' });

/** Bare Temporal: a workflow that runs one activity on another queue, nothing else. */
export async function floorWorkflow(): Promise<number> {
  return started();
}

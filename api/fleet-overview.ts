import type { Client } from '@temporalio/client';
import { emptyRunCounts, emptyRunnerCounts, type FleetOverview, type WaitingDemand } from '../core/contract/fleet-overview.js';
import { RUN_STATUSES } from '../core/contract/run-status.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { RUN_WORKFLOW_TYPE } from '../workflows/messages.js';
import type { FleetService } from './fleet-service.js';

/** The most pending runs the overview reads to group them by demand: a bounded cost whatever the backlog. */
const MAX_WAITING_READ = 1000;

/** The fleet at a glance: one visibility count per run status, one listing of pending runs, and the runner list. */
export class FleetOverviewService {
  constructor(private readonly client: Client, private readonly fleet: FleetService) {}

  async overview(): Promise<FleetOverview> {
    const [runsByStatus, waiting, runners] = await Promise.all([this.runsByStatus(), this.waiting(), this.fleet.runners()]);
    const runnersByStatus = emptyRunnerCounts();
    const slots = { capacity: 0, used: 0, free: 0 };
    for (const runner of runners) {
      runnersByStatus[runner.status] += 1;
      if (runner.status !== 'online') continue;
      slots.capacity += runner.capacity;
      slots.used += Math.min(runner.load, runner.capacity);
    }
    slots.free = slots.capacity - slots.used;
    return { runs_by_status: runsByStatus, runners_by_status: runnersByStatus, slots, ...waiting };
  }

  private async runsByStatus(): Promise<FleetOverview['runs_by_status']> {
    const counts = emptyRunCounts();
    // SQL visibility groups counts by ExecutionStatus only: one count per ao status instead.
    await Promise.all(
      RUN_STATUSES.map(async (status) => {
        const query = visibility.allOf(visibility.workflowTypeIs(RUN_WORKFLOW_TYPE), visibility.attributeIs(searchAttributes.runStatus, status));
        counts[status] = (await this.client.workflow.count(query)).count;
      }),
    );
    return counts;
  }

  private async waiting(): Promise<Pick<FleetOverview, 'waiting' | 'waiting_truncated'>> {
    const query = visibility.allOf(visibility.workflowTypeIs(RUN_WORKFLOW_TYPE), visibility.isRunning(), visibility.attributeIs(searchAttributes.runStatus, 'pending'));
    const groups = new Map<string, WaitingDemand>();
    let read = 0;
    for await (const execution of this.client.workflow.list({ query, pageSize: MAX_WAITING_READ })) {
      if (read === MAX_WAITING_READ) return { waiting: sorted(groups), waiting_truncated: true };
      read += 1;
      const tags = [...(execution.typedSearchAttributes.get(searchAttributes.tags) ?? [])].sort();
      const key = JSON.stringify(tags);
      const startedAt = execution.startTime.toISOString();
      const group = groups.get(key);
      if (!group) groups.set(key, { tags, runs: 1, oldest_started_at: startedAt });
      else {
        group.runs += 1;
        if (startedAt < group.oldest_started_at) group.oldest_started_at = startedAt;
      }
    }
    return { waiting: sorted(groups), waiting_truncated: false };
  }
}

const sorted = (groups: Map<string, WaitingDemand>): WaitingDemand[] =>
  [...groups.values()].sort((a, b) => b.runs - a.runs || a.oldest_started_at.localeCompare(b.oldest_started_at));

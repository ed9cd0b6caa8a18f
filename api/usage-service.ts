import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { roundUsd } from '../core/contract/usage.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { MAX_USAGE_RUNS, type UsageFigures, type UsageGroup, type UsageQuery, type UsageReport } from '../core/contract/usage-report.js';
import { RUN_WORKFLOW_TYPE } from '../workflows/messages.js';

const DAY_MS = 24 * 3600 * 1000;
const none = (): UsageFigures => ({ runs: 0, priced_runs: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0 });

/** Adds up runs' cost and tokens from their search attributes: one visibility listing, no run read. */
export class UsageService {
  constructor(private readonly client: Client) {}

  async report(query: UsageQuery): Promise<UsageReport> {
    const { allOf, attributeIs, workflowTypeIs, startedBefore, startedAtOrAfter } = visibility;
    const filter = allOf(
      workflowTypeIs(RUN_WORKFLOW_TYPE),
      query.agent && attributeIs(searchAttributes.agent, query.agent),
      query.since && startedAtOrAfter(`${query.since}T00:00:00Z`),
      query.until && startedBefore(new Date(Date.parse(`${query.until}T00:00:00Z`) + DAY_MS).toISOString()),
    );
    const groups = new Map<string | null, UsageGroup>();
    const total = none();
    let truncated = false;
    for await (const execution of this.client.workflow.list({ query: filter })) {
      if (total.runs >= MAX_USAGE_RUNS) {
        truncated = true;
        break;
      }
      const key = groupKey(execution, query.group_by);
      const group = groups.get(key) ?? { key, ...none() };
      groups.set(key, group);
      add(group, execution);
      add(total, execution);
    }
    const sorted = [...groups.values()].sort((a, b) => (query.group_by === 'day' ? String(b.key).localeCompare(String(a.key)) : b.cost_usd - a.cost_usd || String(a.key).localeCompare(String(b.key))));
    return { group_by: query.group_by, groups: sorted, total, truncated };
  }
}

function groupKey(execution: WorkflowExecutionInfo, by: UsageQuery['group_by']): string | null {
  const attributes = execution.typedSearchAttributes;
  if (by === 'agent') return attributes.get(searchAttributes.agent) ?? null;
  if (by === 'profile') return attributes.get(searchAttributes.profile) ?? null;
  return execution.startTime.toISOString().slice(0, 10);
}

function add(figures: UsageFigures, execution: WorkflowExecutionInfo): void {
  const attributes = execution.typedSearchAttributes;
  const cost = attributes.get(searchAttributes.costUsd);
  figures.runs += 1;
  if (cost !== undefined) {
    figures.priced_runs += 1;
    figures.cost_usd = roundUsd(figures.cost_usd + cost);
  }
  figures.input_tokens += attributes.get(searchAttributes.inputTokens) ?? 0;
  figures.output_tokens += attributes.get(searchAttributes.outputTokens) ?? 0;
}

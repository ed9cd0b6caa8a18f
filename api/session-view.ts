import type { RunSummary, RunView, SessionRun, SessionView } from '../core/contract/http.js';
import { NO_USAGE, RunUsage, addUsage, roundUsd } from '../core/contract/usage.js';

/** A run's own usage and cost from its result, when it reported them in ao's shape. */
function usageOf(view: RunView): { usage?: RunUsage; cost_usd?: number } {
  const result = (view.result ?? {}) as { usage?: unknown; cost_usd?: unknown };
  const usage = RunUsage.safeParse(result.usage);
  const cost = typeof result.cost_usd === 'number' && Number.isFinite(result.cost_usd) ? result.cost_usd : usage.success ? usage.data.cost_usd : undefined;
  return { ...(usage.success ? { usage: usage.data } : {}), ...(cost !== undefined ? { cost_usd: cost } : {}) };
}

function sessionRun(summary: RunSummary, view: RunView): SessionRun {
  const { workspace } = view;
  const { usage, cost_usd: cost } = usageOf(view);
  return {
    ...summary,
    ...(view.status ? { status: view.status } : {}),
    ...(cost !== undefined ? { cost_usd: cost } : {}),
    ...(usage ? { usage } : {}),
    ...(workspace
      ? {
          workspace: {
            ...(workspace.branch ? { branch: workspace.branch } : {}),
            ...(workspace.base_commit ? { base_commit: workspace.base_commit } : {}),
            ...(workspace.head_commit ? { head_commit: workspace.head_commit } : {}),
            ...(workspace.branch_deleted ? { branch_deleted: true } : {}),
            ...(workspace.diff ? { diff: { files_changed: workspace.diff.files_changed, added: workspace.diff.added, removed: workspace.diff.removed } } : {}),
          },
        }
      : {}),
  };
}

/**
 * A session's chain of runs, oldest first, each with its branch, diff summary, status, usage and
 * cost, and their total. Each run's usage is its own (a resumed run reports its delta), so the
 * total is their sum.
 */
export function sessionView(sessionId: string, runs: Array<{ summary: RunSummary; view: RunView }>): SessionView {
  const chain = runs.map(({ summary, view }) => sessionRun(summary, view)).sort((a, b) => a.started_at.localeCompare(b.started_at));
  let usage = { ...NO_USAGE };
  let cost: number | undefined;
  let unpriced = 0;
  for (const run of chain) {
    if (run.usage) usage = addUsage(usage, { ...run.usage, cost_usd: 0 });
    if (run.cost_usd !== undefined) cost = roundUsd((cost ?? 0) + run.cost_usd);
    else if (run.usage) unpriced += 1;
  }
  const { cost_usd: _ignored, ...tokens } = usage;
  return { session_id: sessionId, runs: chain, total: { usage: tokens, ...(cost !== undefined ? { cost_usd: cost } : {}), unpriced_runs: unpriced } };
}

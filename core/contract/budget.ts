import { z } from 'zod';
import type { RunUsage } from './usage.js';

/**
 * What a run may spend: set on an agent, a profile (top level) and a run request. The strictest
 * of each limit wins; the runner stops a run as soon as its usage goes over one, and the run
 * fails with `BUDGET_EXCEEDED`.
 */
export const Budget = z
  .object({
    /** USD the run may cost (the CLI's own figure, else the price table's). */
    max_cost_usd: z.number().positive().finite().optional(),
    /** Model requests the run may make (the `turns` of its usage). */
    max_turns: z.number().int().positive().optional(),
  })
  .strict()
  .meta({ id: 'Budget' });
export type Budget = z.infer<typeof Budget>;

// Zod-free, for workflow code.
export { strictestBudget } from './plain/budget.js';

/** Why the usage is over the budget (the limit and the amount), or undefined while it is within. */
export function overBudget(budget: Budget, usage: Pick<RunUsage, 'turns' | 'cost_usd'>): string | undefined {
  if (budget.max_cost_usd !== undefined && usage.cost_usd !== undefined && usage.cost_usd > budget.max_cost_usd) {
    return `the run cost ${usage.cost_usd} USD, over its budget's max_cost_usd of ${budget.max_cost_usd} USD`;
  }
  if (budget.max_turns !== undefined && usage.turns > budget.max_turns) {
    return `the run made ${usage.turns} model requests, over its budget's max_turns of ${budget.max_turns}`;
  }
  return undefined;
}

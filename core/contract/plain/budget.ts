import type { Budget } from '../budget.js';

const LIMITS = ['max_cost_usd', 'max_turns'] as const;

/** The strictest of the budgets given, limit by limit; undefined when none sets any limit (zod-free, for workflow code: ./run-status.ts says why). */
export function strictestBudget(...budgets: Array<Budget | undefined>): Budget | undefined {
  const merged: Budget = {};
  for (const budget of budgets) {
    for (const limit of LIMITS) {
      const value = budget?.[limit];
      if (value !== undefined) merged[limit] = Math.min(value, merged[limit] ?? value);
    }
  }
  return Object.keys(merged).length ? merged : undefined;
}

import { overBudget, type Budget } from '../../core/contract/budget.js';
import { NO_USAGE, RunUsage, addUsage, priced, roundUsd, type PriceTable } from '../../core/contract/usage.js';
import type { Emit } from './context.js';
import type { ProcessControls } from './supervised-process.js';

export interface MeterSettings {
  /** The run's budget, the profile's, the agent's and the request's merged; none: the run is only metered. */
  budget?: Budget;
  /** The profile's model (a call that names none is priced as it) and price overrides. */
  model?: string;
  prices?: PriceTable;
  /** A resumed session's cost before this run, as its executor counts (a running total). */
  sessionCostBefore?: number;
}

export interface BudgetMeter {
  emit: Emit;
  /** Once the executor runs: what stops it when its usage goes over the budget. */
  attach(controls: ProcessControls): void;
  /** Why the run went over its budget, once it did. */
  exceeded(): string | undefined;
  /** The run's own usage so far. */
  usage(): RunUsage;
}

/**
 * Adds up a run's usage as its executor reports it (`usage_tick`: one model call's own usage, or
 * the run's whole as the CLI counts it at the end), prices calls the CLI does not price, and
 * stops the run as soon as the total goes over its budget. Every tick it passes on carries the
 * run's running `total` (and its `cost_usd`); a call reported twice (Claude repeats a message's
 * usage on each of its content blocks) is counted and passed on once.
 */
export function meterBudget(emit: Emit, settings: MeterSettings): BudgetMeter {
  let total: RunUsage = { ...NO_USAGE, cost_usd: 0 };
  let model = settings.model;
  const seen = new Set<string>();
  let controls: ProcessControls | undefined;
  let exceeded: string | undefined;

  const stop = (): void => {
    if (exceeded && controls) controls.stop(true);
  };
  const check = (): void => {
    if (exceeded || !settings.budget) return;
    exceeded = overBudget(settings.budget, total);
    if (!exceeded) return;
    emit('alert', { kind: 'budget_exceeded', message: `${exceeded}; the run is stopped`, budget: settings.budget });
    stop();
  };
  /** A call's usage with a cost: the CLI's, else the price table's; unpriced, the run's cost is unknown from then on. */
  const pricedCall = (usage: RunUsage, callModel: string | undefined): RunUsage => (usage.cost_usd !== undefined ? usage : priced(usage, callModel ?? model, settings.prices));
  /** The CLI's own count of the whole run; its cost is a session's running total, less what came before. */
  const ownRun = (usage: RunUsage): RunUsage => {
    const before = settings.sessionCostBefore;
    const cost = usage.cost_usd === undefined ? pricedCall(usage, undefined).cost_usd : before ? roundUsd(Math.max(0, usage.cost_usd - before)) : usage.cost_usd;
    const { cost_usd: _cost, ...tokens } = usage;
    return cost === undefined ? tokens : { ...tokens, cost_usd: cost };
  };

  const metered: Emit = (kind, data) => {
    if (kind === 'session_started' && typeof data.model === 'string') model ??= data.model;
    if (kind !== 'usage_tick') return emit(kind, data);
    const parsed = RunUsage.safeParse(data.usage);
    if (!parsed.success) return emit(kind, data);
    const callId = typeof data.call_id === 'string' ? data.call_id : undefined;
    if (callId && seen.has(callId)) return;
    if (callId) seen.add(callId);
    const own = data.scope === 'run' ? ownRun(parsed.data) : pricedCall(parsed.data, typeof data.model === 'string' ? data.model : undefined);
    const { raw: _raw, ...counted } = own;
    total = data.scope === 'run' ? counted : addUsage(total, counted);
    emit(kind, { ...data, usage: own, total, ...(total.cost_usd !== undefined ? { cost_usd: total.cost_usd } : {}) });
    check();
  };
  return {
    emit: metered,
    attach: (given) => {
      controls = given;
      stop();
    },
    exceeded: () => exceeded,
    usage: () => total,
  };
}

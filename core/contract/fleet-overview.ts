import { z } from 'zod';
import { RUN_STATUSES, RunStatus } from './run-status.js';
import { RUNNER_STATUSES, RunnerStatus } from './fleet.js';

/** `GET /fleet/overview`: the fleet at a glance, from visibility counts and the runner list (no query per run). */

/** Pending runs that want the same tags: they wait for the same kind of runner. */
export const WaitingDemand = z.object({
  /** The demanded tags, sorted; empty when the runs demand none. */
  tags: z.array(z.string()),
  runs: z.number().int(),
  /** When the longest-waiting of them started. */
  oldest_started_at: z.string(),
}).meta({ id: 'WaitingDemand' });
export type WaitingDemand = z.infer<typeof WaitingDemand>;

export const FleetOverview = z.object({
  /** How many runs are in each status (every status listed, zero included). */
  runs_by_status: z.record(RunStatus, z.number().int()),
  /** How many listed runners are in each status. */
  runners_by_status: z.record(RunnerStatus, z.number().int()),
  /** Slots of the runners that take runs (status `online`): `used` by runs, `free` for new ones. */
  slots: z.object({ capacity: z.number().int(), used: z.number().int(), free: z.number().int() }),
  /** Pending runs grouped by what they demand, most runs first. */
  waiting: z.array(WaitingDemand),
  /** More runs were pending than the overview reads: `waiting` counts the newest of them only. */
  waiting_truncated: z.boolean(),
}).meta({ id: 'FleetOverview' });
export type FleetOverview = z.infer<typeof FleetOverview>;

/** Every status at zero, so a status with no runs still shows. */
export const zeroCounts = <S extends string>(statuses: readonly S[]): Record<S, number> => Object.fromEntries(statuses.map((status) => [status, 0])) as Record<S, number>;

export const emptyRunCounts = (): Record<RunStatus, number> => zeroCounts(RUN_STATUSES);
export const emptyRunnerCounts = (): Record<RunnerStatus, number> => zeroCounts(RUNNER_STATUSES);

import { z } from 'zod';
import { Name } from './names.js';

/** `GET /usage`: runs' cost and tokens added up by agent, profile or day (UTC), from Temporal visibility. */

export const USAGE_GROUPINGS = ['agent', 'profile', 'day'] as const;
export const UsageGrouping = z.enum(USAGE_GROUPINGS);
export type UsageGrouping = z.infer<typeof UsageGrouping>;

/** The most runs one report adds up; past it the report says `truncated`. */
export const MAX_USAGE_RUNS = 10_000;

/** A UTC day, `YYYY-MM-DD`. */
const Day = z.iso.date({ message: 'a day as YYYY-MM-DD' });

export const UsageQuery = z
  .object({
    /** @defaultValue `agent` */
    group_by: UsageGrouping.default('agent'),
    /** Runs started on this day (UTC) or later. */
    since: Day.optional(),
    /** Runs started on this day (UTC) or earlier. */
    until: Day.optional(),
    /** Only this agent's runs. */
    agent: Name.optional(),
  })
  .strict()
  .refine((query) => !query.since || !query.until || query.since <= query.until, { message: 'since is after until', path: ['since'] });
export type UsageQuery = z.infer<typeof UsageQuery>;

const Count = z.number().int().nonnegative();

/** What a set of runs used: the priced runs' cost (a run with no price or still running has none), and their tokens. */
export const UsageFigures = z
  .object({
    runs: Count,
    /** Runs with a cost (the others' models have no price, or they have not ended). */
    priced_runs: Count,
    cost_usd: z.number().nonnegative(),
    /** Prompt tokens: uncached, cache reads and cache writes. */
    input_tokens: Count,
    output_tokens: Count,
  })
  .meta({ id: 'UsageFigures' });
export type UsageFigures = z.infer<typeof UsageFigures>;

/** One group: its agent, profile or day; `null` when the runs have none (no runner took them: no profile). */
export const UsageGroup = UsageFigures.extend({ key: z.string().nullable() }).meta({ id: 'UsageGroup' });
export type UsageGroup = z.infer<typeof UsageGroup>;

export const UsageReport = z
  .object({
    group_by: UsageGrouping,
    /** Highest cost first (days: newest first). */
    groups: z.array(UsageGroup),
    total: UsageFigures,
    /** More runs matched than one report adds up (`MAX_USAGE_RUNS`): narrow it with since/until. */
    truncated: z.boolean(),
  })
  .meta({ id: 'UsageReport' });
export type UsageReport = z.infer<typeof UsageReport>;

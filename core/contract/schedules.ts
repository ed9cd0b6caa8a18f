import { z } from 'zod';
import { Demands } from './demands.js';
import { GitRef, Name } from './names.js';
import { RunStatus } from './run-status.js';

/** Schedules: runs started by Temporal Schedules on a cron or an interval. */

/**
 * A schedule's name: lower-case letters, digits and `-`, at most 40. It goes into the schedule's id,
 * the launcher workflow's id and each scheduled run's id, which must stay a valid run id (≤ 64).
 */
export const ScheduleName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'use 1 to 40 lower-case letters, digits or "-", starting with a letter or digit');

/**
 * A cron expression of five fields (minute hour day-of-month month day-of-week), or one of
 * `@yearly @monthly @weekly @daily @hourly`. Temporal checks the values themselves (a bad one is a 400 too).
 */
const CRON_FIELD = /^[0-9A-Za-z*,/?-]+$/;
export const CronExpression = z
  .string()
  .max(200)
  .refine((cron) => {
    if (/^@(yearly|annually|monthly|weekly|daily|hourly)$/.test(cron.trim())) return true;
    const fields = cron.trim().split(/\s+/);
    return fields.length === 5 && fields.every((field) => CRON_FIELD.test(field));
  }, 'a cron expression has five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *", or is @daily, @hourly, @weekly, @monthly or @yearly');

/** The shortest interval a schedule may have: a schedule that fires faster is a loop, not a patrol. */
export const MIN_INTERVAL_SECONDS = 60;
const MAX_SECONDS = 366 * 24 * 3600;

/** When it fires: a cron expression (UTC unless `timezone`) or a fixed interval, exactly one. */
export const ScheduleTiming = z
  .object({
    cron: CronExpression.optional(),
    interval_seconds: z.number().int().min(MIN_INTERVAL_SECONDS).max(MAX_SECONDS).optional(),
    /** An IANA time zone the cron expression is read in (default UTC). */
    timezone: z.string().regex(/^[A-Za-z0-9_+/-]{1,64}$/, 'an IANA time zone such as Europe/Berlin').optional(),
  })
  .strict()
  .refine((timing) => (timing.cron === undefined) !== (timing.interval_seconds === undefined), 'give either cron or interval_seconds, not both');
export type ScheduleTiming = z.infer<typeof ScheduleTiming>;

/**
 * What a schedule does when its time comes and its previous run has not ended: `skip` it (the
 * default), keep one (`buffer_one`) or all (`buffer_all`) to start after it, or start it anyway
 * (`allow_all`). The launcher waits for its run, so a running run is what counts as overlap.
 */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'allow_all'] as const;
export const OverlapPolicy = z.enum(OVERLAP_POLICIES);
export type OverlapPolicy = z.infer<typeof OverlapPolicy>;

/** What each start of a schedule runs: an agent with its parameters and demands. */
export const ScheduleTarget = z
  .object({
    agent: Name.optional(),
    /** Flows do not exist yet: the field is kept for them and refused with a 400 until they do. */
    flow: Name.optional(),
    prompt: z.string().max(100_000).optional(),
    parameters: z.record(z.string(), z.unknown()).default({}),
    additional_demands: Demands.partial().strict().optional(),
    timeout_seconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
    base_ref: GitRef.optional(),
  })
  .strict();

const SchedulePolicies = {
  overlap: OverlapPolicy.default('skip'),
  /** How late a missed start (Temporal was down) may still be taken. Temporal's floor is 10 s. */
  catchup_window_seconds: z.number().int().min(10).max(MAX_SECONDS).default(60),
  paused: z.boolean().default(false),
  /** Why it is paused, or any note: shown in the Temporal UI too. */
  note: z.string().max(500).optional(),
};

/** `POST /schedules` body. Unknown fields (a `run_id`, say) are refused: each start makes its own run id. */
export const CreateScheduleRequest = z
  .object({ name: ScheduleName, timing: ScheduleTiming, ...ScheduleTarget.shape, ...SchedulePolicies })
  .strict()
  .meta({ id: 'CreateScheduleRequest' });
export type CreateScheduleRequest = z.infer<typeof CreateScheduleRequest>;

/** `PATCH /schedules/:name`: any field but the name; the result is checked whole, as on create. */
export const UpdateScheduleRequest = z
  .object({
    timing: ScheduleTiming.optional(),
    agent: Name.optional(),
    flow: Name.optional(),
    prompt: z.string().max(100_000).nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    additional_demands: Demands.partial().strict().nullable().optional(),
    timeout_seconds: z.number().int().positive().max(7 * 24 * 3600).nullable().optional(),
    base_ref: GitRef.nullable().optional(),
    overlap: OverlapPolicy.optional(),
    catchup_window_seconds: z.number().int().min(10).max(MAX_SECONDS).optional(),
    note: z.string().max(500).nullable().optional(),
  })
  .strict()
  .meta({ id: 'UpdateScheduleRequest' });
export type UpdateScheduleRequest = z.infer<typeof UpdateScheduleRequest>;

/** `POST /schedules/:name/pause` and `/unpause` body: an optional note (why). */
export const ScheduleNoteRequest = z.object({ note: z.string().max(500).optional() }).strict().meta({ id: 'ScheduleNoteRequest' });

/** A schedule as ao keeps it (in the Temporal Schedule's memo, beside the action it starts). */
export const ScheduleDefinition = CreateScheduleRequest.omit({ paused: true })
  .extend({ created_by: z.string(), created_at: z.string(), updated_by: z.string().optional(), updated_at: z.string().optional() })
  .meta({ id: 'ScheduleDefinition' });
export type ScheduleDefinition = z.infer<typeof ScheduleDefinition>;

/** One start of a schedule and the run it became. */
export const ScheduledRun = z
  .object({
    run_id: z.string(),
    scheduled_at: z.string(),
    started_at: z.string(),
    /** The run's status as visibility knows it; absent until visibility has the run. */
    status: RunStatus.optional(),
    closed_at: z.string().optional(),
  })
  .meta({ id: 'ScheduledRun' });
export type ScheduledRun = z.infer<typeof ScheduledRun>;

/** `GET /schedules/:name`: the definition, its state, the next start times and the recent runs with their outcomes. */
export const ScheduleView = ScheduleDefinition.extend({
  paused: z.boolean(),
  next_runs: z.array(z.string()),
  recent_runs: z.array(ScheduledRun),
  /** Starts it did not take: missed while Temporal was down (past the catch-up window), or skipped for overlap. */
  missed_catchup: z.number().int(),
  skipped_overlap: z.number().int(),
  actions_taken: z.number().int(),
  temporal_ui_url: z.string(),
}).meta({ id: 'ScheduleView' });
export type ScheduleView = z.infer<typeof ScheduleView>;

export const ScheduleList = z.object({ schedules: z.array(ScheduleView) }).meta({ id: 'ScheduleList' });
export type ScheduleList = z.infer<typeof ScheduleList>;

/** `POST /schedules/:name/trigger` → 202. */
export const ScheduleTriggered = z.object({ name: z.string(), triggered: z.literal(true) }).meta({ id: 'ScheduleTriggered' });

/** What the schedule's action passes to the launcher workflow, the same every time. */
export interface ScheduledRunInput {
  schedule: string;
  agent: string;
  prompt?: string;
  parameters: Record<string, unknown>;
  additional_demands?: Partial<Demands>;
  timeout_seconds?: number;
  base_ref?: string;
  created_by: string;
  no_runner_timeout_seconds?: number;
  dispatch_timeout_seconds?: number;
}

/** What the launcher returns: the run it started and how it ended. */
export interface ScheduledRunOutcome {
  run_id: string;
  status: RunStatus | 'unknown';
}

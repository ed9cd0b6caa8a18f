import { z } from 'zod';
import { RunId } from './names.js';

/**
 * Run events: what executors and runners report besides the workflow's milestones.
 * They travel runner → API in batches and are stored apart from Temporal history (design §5).
 */
export const EVENT_KINDS = [
  'session_started',
  'state_changed',
  'terminal_chunk',
  'message',
  'file_touched',
  'diff_summary',
  'tool_call',
  'tool_result',
  'approval_requested',
  'approval_resolved',
  'usage_tick',
  'hook_run',
  'alert',
  'session_ended',
] as const;
export const EventKind = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKind>;

/** An event as a runner sends it: `source` + `seq` identify it, so a resent batch is stored once. */
export const RunEventInput = z.object({
  run_id: RunId,
  /** The sending runner process and attempt; seq counts within it. */
  source: z.string().min(1).max(200),
  seq: z.number().int().nonnegative(),
  kind: EventKind,
  at: z.string(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type RunEventInput = z.infer<typeof RunEventInput>;

export const EventBatch = z.object({ events: z.array(RunEventInput).max(1000) }).strict();
export type EventBatch = z.infer<typeof EventBatch>;

/** An event as stored and served: `id` orders a run's events and is the SSE event id. */
export const RunEvent = RunEventInput.extend({ id: z.number().int().positive() });
export type RunEvent = z.infer<typeof RunEvent>;

/** How an executor process ended, in `session_ended.outcome`. */
export const SESSION_END_OUTCOMES = ['exited', 'failed', 'stopped', 'timed_out'] as const;
export type SessionEndOutcome = (typeof SESSION_END_OUTCOMES)[number];

import { z } from 'zod';
import { RunId } from './names.js';
import { EVENT_DATA, TruncatedEventData, isTruncatedData } from './event-kinds.js';

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
  /** An operator's message into the running session (`POST /runs/:id/input`): `text`, `by`, `queued`. */
  'input_sent',
  'policy_denied',
  'usage_tick',
  'hook_run',
  'alert',
  'session_ended',
] as const;
export const EventKind = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKind>;
// Every kind has its schema, and no schema is for a kind that does not exist.
EVENT_DATA satisfies { [K in EventKind]: z.ZodType };

/** The most events one batch may carry (`POST /internal/events` answers 413 above it). */
export const MAX_EVENTS_PER_BATCH = 1000;
/** The largest event, as JSON, the API stores (413 above it); the runner truncates bigger ones with a marker. */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** `seq` is a 32-bit integer in the PostgreSQL store. */
const MAX_SEQ = 2_147_483_647;
/** Times the stores keep as they are: from year 1 to year 9999 (PostgreSQL has no year 0). */
const isStorableTime = (time: number): boolean => time >= Date.parse('0001-01-01T00:00:00Z') && time < Date.parse('+010000-01-01T00:00:00Z');

/** An event as a runner sends it: `source` + `seq` identify it, so a resent batch is stored once. */
const RunEventBase = z.object({
  run_id: RunId,
  /** The sending runner process and attempt; seq counts within it. Printable ASCII, no spaces. */
  source: z.string().regex(/^[\x21-\x7e]{1,200}$/, 'source is 1 to 200 printable ASCII characters'),
  seq: z.number().int().nonnegative().max(MAX_SEQ),
  kind: EventKind,
  at: z.iso
    .datetime({ offset: true, message: 'at is an ISO 8601 date-time' })
    // A time the format already refused is not reported twice.
    .refine((at) => Number.isNaN(Date.parse(at)) || isStorableTime(Date.parse(at)), 'at is a date-time between the years 1 and 9999'),
  data: z.record(z.string(), z.unknown()).default({}),
});
/** An event as a runner sends it; its data is checked against its kind's schema. */
export const RunEventInput = RunEventBase
  // The data must match its kind's schema (core/contract/event-kinds.ts); problems name the field under `data`.
  .superRefine((event, context) => {
    if (isTruncatedData(event.data)) return;
    const parsed = EVENT_DATA[event.kind].safeParse(event.data);
    for (const issue of parsed.success ? [] : parsed.error.issues) {
      context.addIssue({ code: 'custom', message: `${event.kind}: ${issue.message}`, path: ['data', ...issue.path.map(String)] });
    }
  })
  .meta({ id: 'RunEventInput' });
export type RunEventInput = z.infer<typeof RunEventInput>;

/** `POST /internal/events` body; at most `MAX_EVENTS_PER_BATCH` events of at most `MAX_EVENT_BYTES` each. */
export const EventBatch = z.object({ events: z.array(RunEventInput) }).strict().meta({ id: 'EventBatch' });
export type EventBatch = z.infer<typeof EventBatch>;

/** `POST /internal/events` → 200: how many of the batch's events were new (the others were stored before). */
export const EventBatchStored = z.object({ stored: z.number().int().nonnegative() }).meta({ id: 'EventBatchStored' });

/**
 * An event as stored and served: `id` orders a run's events and is the SSE event id. Served as
 * stored, unchecked by kind: events stored before a kind's schema tightened stay readable.
 */
export const RunEvent = RunEventBase.extend({ id: z.number().int().positive() }).meta({ id: 'RunEvent' });
export type RunEvent = z.infer<typeof RunEvent>;

export { SESSION_END_OUTCOMES, type SessionEndOutcome } from './event-kinds.js';

/**
 * Every kind's event as one discriminated union on `kind`, for the OpenAPI document: what each
 * kind's `data` holds (a truncated event's data is the runner's marker instead).
 */
export const RunEventOfKind = z
  .discriminatedUnion(
    'kind',
    EVENT_KINDS.map((kind) => z.object({ kind: z.literal(kind), data: z.union([EVENT_DATA[kind], TruncatedEventData]) })) as unknown as [
      z.ZodObject<{ kind: z.ZodLiteral<EventKind>; data: z.ZodType }>,
      ...Array<z.ZodObject<{ kind: z.ZodLiteral<EventKind>; data: z.ZodType }>>,
    ],
  )
  .meta({ id: 'RunEventOfKind', description: 'A run event by its kind: what `data` holds for each (README, Events).' });

import { z } from 'zod';
import { ApprovalRequest } from './approvals.js';
import { RunUsage } from './usage.js';

/**
 * One schema per event kind: what a run event's `data` holds, whichever executor reported it.
 * The API refuses (400) an event whose data does not match its kind's; fields beyond these are
 * kept (a CLI's extras), but every field named here has this type. README, Events, lists them.
 */

const Count = z.number().int().nonnegative();

/** How an executor process ended, in `session_ended.outcome`. */
export const SESSION_END_OUTCOMES = ['exited', 'failed', 'stopped', 'timed_out'] as const;
export type SessionEndOutcome = (typeof SESSION_END_OUTCOMES)[number];

/** How a tool changed a file: wrote it whole, edited it, deleted or moved it; `changed`: the diff shows it, no tool said so. */
export const FILE_OPERATIONS = ['write', 'edit', 'delete', 'move', 'changed'] as const;
export const FileOperation = z.enum(FILE_OPERATIONS);
export type FileOperation = z.infer<typeof FileOperation>;

/** What an `alert` is about. */
export const ALERT_KINDS = [
  /** The vendor's API failed and the CLI retries (`attempt` counts). */
  'api_retry',
  /** The vendor's API failed for good, or the CLI's turn did. */
  'model_error',
  'turn_failed',
  /** The CLI answered ao's protocol request with an error. */
  'protocol_error',
  'executor_error',
  /** The CLI refused a tool use (its own permission rules). */
  'permission_denied',
  /** The executor's output carried an alert of its own. */
  'executor',
  'hook_failed',
  /** The run's diff could not be summarised. */
  'workspace',
  /** The API refused an event; this alert took its place. */
  'event_refused',
  /** The run went over its budget and was stopped. */
  'budget_exceeded',
] as const;
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;

/** A path relative to the run's workspace, `/`-separated, never leaving it. */
const relativePath = (path: string): boolean => !path.startsWith('/') && !path.split('/').includes('..');

const FileTouched = z
  .looseObject({
    /** Relative to the workspace; absolute only with `outside_workspace`. */
    path: z.string().min(1),
    operation: FileOperation,
    /** The tool that changed it, when a tool did. */
    tool: z.string().optional(),
    outside_workspace: z.literal(true).optional(),
    /** Lines, from the run's diff. */
    added: Count.optional(),
    removed: Count.optional(),
  })
  .refine((data) => data.outside_workspace === true || relativePath(data.path), { message: 'path is relative to the workspace (or outside_workspace is set)', path: ['path'] });

const DiffFile = z.object({ path: z.string(), added: Count, removed: Count });

export const EVENT_DATA = {
  session_started: z.looseObject({
    /** The CLI's own session (Claude session, Codex thread, Gemini session): what a follow-up run resumes. */
    session_id: z.string().optional(),
    pid: z.number().int().positive().optional(),
    attempt: z.number().int().positive().optional(),
    executor_type: z.string().optional(),
    runner_id: z.string().optional(),
    model: z.string().optional(),
    cli_version: z.string().optional(),
  }),
  state_changed: z.looseObject({ phase: z.string().min(1), by: z.string().optional() }),
  terminal_chunk: z.looseObject({
    stream: z.enum(['stdout', 'stderr']).optional(),
    text: z.string(),
    /** The CLI's own chatter (e.g. codex's "Reading additional input from stdin..."), not the run's output. */
    noise: z.literal(true).optional(),
  }),
  message: z.looseObject({ role: z.enum(['assistant', 'user']).optional(), text: z.string(), delta: z.boolean().optional() }),
  file_touched: FileTouched,
  diff_summary: z.looseObject({
    files_changed: Count,
    added: Count,
    removed: Count,
    files: z.array(DiffFile),
    branch: z.string().optional(),
    base_commit: z.string().optional(),
    head_commit: z.string().optional(),
  }),
  tool_call: z.looseObject({ id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()) }),
  tool_result: z.looseObject({
    /** The `id` of its `tool_call`. */
    tool_use_id: z.string().min(1),
    is_error: z.boolean(),
    /** What the tool gave the model, summarised (at most about 2,000 characters). */
    output: z.string(),
    status: z.string().optional(),
    exit_code: z.number().int().nullable().optional(),
  }),
  approval_requested: ApprovalRequest.loose(),
  approval_resolved: z.looseObject({
    tool: z.string(),
    approval_id: z.string().optional(),
    decision: z.enum(['allow', 'deny']).optional(),
    status: z.string().optional(),
    by: z.string().optional(),
    note: z.string().optional(),
    reason: z.string().optional(),
    remember: z.boolean().optional(),
  }),
  input_sent: z.looseObject({ text: z.string(), by: z.string().optional(), queued: z.boolean() }),
  policy_denied: z.looseObject({ tool: z.string(), rule: z.string() }),
  usage_tick: z.looseObject({
    /** `call`: one model request's own usage; `run`: the whole run's, as the CLI counts it at its end. */
    scope: z.enum(['call', 'run']),
    usage: RunUsage,
    /** The run's own usage so far (the runner adds it up). */
    total: RunUsage.optional(),
    /** The run's cost so far, when every request so far had a price. */
    cost_usd: z.number().nonnegative().optional(),
    model: z.string().optional(),
    call_id: z.string().optional(),
    final: z.boolean().optional(),
  }),
  hook_run: z.looseObject({
    hook: z.string(),
    file: z.string(),
    passed: z.boolean(),
    exit_code: z.number().int().nullable(),
    timed_out: z.boolean(),
    duration_ms: z.number().nonnegative(),
    output: z.string(),
  }),
  alert: z.looseObject({
    kind: AlertKind,
    message: z.string().min(1),
    /** For retries: which attempt failed (1 is the first). */
    attempt: z.number().int().positive().optional(),
  }),
  session_ended: z.looseObject({
    exit_code: z.number().int().nullable(),
    signal: z.string().nullable().optional(),
    duration_ms: z.number().nonnegative().optional(),
    outcome: z.enum(SESSION_END_OUTCOMES).optional(),
  }),
} as const;

/** An event too large for the API, cut down by the runner to a marker and the start of its data. */
export const TruncatedEventData = z.object({ truncated: z.object({ bytes: Count, limit: Count }), preview: z.string() }).meta({ id: 'TruncatedEventData' });

/** Whether data is the runner's truncation marker (it stands for an event of any kind). */
export const isTruncatedData = (data: Record<string, unknown>): boolean => TruncatedEventData.safeParse(data).success;

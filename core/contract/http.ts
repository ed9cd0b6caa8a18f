import { z } from 'zod';
import { Agent, AgentFields, MAX_SCRIPT_BYTES, Script, ScriptDefinition } from './config-files.js';
import { ConcurrencyLimit } from './concurrency.js';
import { Budget } from './budget.js';
import { Demands } from './demands.js';
import { RunEvent, RunEventOfKind } from './events.js';
import { ExecutorProfile } from './executor-profile.js';
import { RunnerView } from './fleet.js';
import { RunPolicy } from './policy.js';
import { GitRef, Name, RunId, RunnerId, SessionId, Tag } from './names.js';
import { RunStatus } from './run-status.js';
import { RunState, SessionMode } from './workflow-io.js';
import { RunUsage } from './usage.js';

/** HTTP request and response bodies: the API validates requests with these, the web client parses answers with them. */

/** What started a run other than `POST /runs`: a schedule or a webhook trigger, by name. */
export const RunOrigin = z.string().regex(/^(schedule|trigger):[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'schedule:<name> or trigger:<name>');
/** Run priorities range over ±this. */
export const RUN_PRIORITY_LIMIT = 1000;

/** `POST /runs` body. Unknown fields are refused so typos do not pass silently. */
export const CreateRunRequest = z
  .object({
    agent: Name,
    prompt: z.string().max(100_000).optional(),
    parameters: z.record(z.string(), z.unknown()).default({}),
    additional_demands: Demands.partial().strict().optional(),
    timeout_seconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
    /** The conversation this run belongs to; a new session when unset. */
    session_id: SessionId.optional(),
    /** `resume` continues the session's executor session on the runner that holds it. */
    mode: SessionMode.optional(),
    /** The branch, tag or commit the run's worktree starts from (default: the project's HEAD). */
    base_ref: GitRef.optional(),
    /** Merged with the runner profile's policy; it can only tighten it (see README, Policy). */
    policy: RunPolicy.optional(),
    /** Higher is dispatched first when slots are scarce; equal priorities first come, first served (default 0). */
    priority: z.number().int().min(-RUN_PRIORITY_LIMIT).max(RUN_PRIORITY_LIMIT).optional(),
    /** How long the run may wait for a free slot (runners that could take it are all busy) before it fails with QUEUE_TIMEOUT. */
    queue_timeout_seconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
    /** At most `limit` runs sharing the key run at once, fleet-wide, besides the agent's own limit; others wait pending. */
    concurrency: ConcurrencyLimit.optional(),
    /** What the run may spend; the agent's or the runner profile's stricter limit wins. Over it, the run fails with BUDGET_EXCEEDED. */
    budget: Budget.optional(),
    /** Starts the run as a child of this live run: a Temporal child workflow, stopped with its parent unless `detached`. */
    parent_run_id: RunId.optional(),
    /** With `parent_run_id`: the child lives on when its parent ends (default false: stopped with it). */
    detached: z.boolean().optional(),
    /**
     * Push the run's branch and open the pull request its agent defines (`pull_request` of the agent) once it completes.
     * @defaultValue true when the agent defines one; `true` for an agent without one is refused (400).
     */
    pull_request: z.boolean().optional(),
  })
  .strict()
  .refine((request) => request.mode !== 'resume' || request.session_id !== undefined, {
    message: 'mode "resume" needs a session_id',
    path: ['mode'],
  })
  .refine((request) => request.detached === undefined || request.parent_run_id !== undefined, {
    message: 'detached applies only to a child run: it needs a parent_run_id',
    path: ['detached'],
  })
  .meta({ id: 'CreateRunRequest' });
export type CreateRunRequest = z.infer<typeof CreateRunRequest>;

export const CreateRunResponse = z.object({ id: z.string(), status: RunStatus, url: z.string() }).meta({ id: 'CreateRunResponse' });
export type CreateRunResponse = z.infer<typeof CreateRunResponse>;

/** `GET /runs` query: filters by search attributes, newest first, paged by `cursor`. */
export const ListRunsQuery = z
  .object({
    status: RunStatus.optional(),
    agent: Name.optional(),
    runner: RunnerId.optional(),
    session: SessionId.optional(),
    tag: Tag.optional(),
    /** What started the runs: `schedule:<name>` or `trigger:<name>`. */
    origin: RunOrigin.optional(),
    /** The `next_cursor` of the previous page (opaque: Temporal's page token). */
    cursor: z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/, 'cursor is the next_cursor of a previous page').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

/** `POST /runs/:id/stop` body. */
export const StopRunRequest = z
  .object({
    reason: z.string().max(500).optional(),
    /** false: every process of the run is killed at once, without the SIGTERM grace period. */
    graceful: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'StopRunRequest' });

/** `POST /runs/:id/stop` → 202. */
export const StopRunResponse = z.object({ id: z.string(), status: z.enum(['stopping', 'stopped']) }).meta({ id: 'StopRunResponse' });

/** `GET /runs/:id`. */
export const RunView = RunState.extend({
  id: z.string(),
  workflow_id: z.string(),
  temporal_ui_url: z.string(),
  /** What started it, when not `POST /runs`: `schedule:<name>` or `trigger:<name>`. */
  origin: z.string().optional(),
}).meta({ id: 'RunView' });
export type RunView = z.infer<typeof RunView>;

/** `GET /runs` row: what Temporal visibility knows of a run, without querying it. */
export const RunSummary = z.object({
  id: z.string(),
  agent: z.string().optional(),
  status: RunStatus.optional(),
  runner_id: z.string().optional(),
  profile: z.string().optional(),
  session_id: z.string().optional(),
  tags: z.array(z.string()).default([]),
  started_at: z.string(),
  closed_at: z.string().optional(),
  /** What the executor reported the run cost (agent CLIs that report one), once it completed. */
  cost_usd: z.number().optional(),
  /** What started it, when not `POST /runs`: `schedule:<name>` or `trigger:<name>`. */
  origin: z.string().optional(),
  temporal_ui_url: z.string(),
}).meta({ id: 'RunSummary' });
export type RunSummary = z.infer<typeof RunSummary>;

export const RunList = z.object({ runs: z.array(RunSummary), next_cursor: z.string().optional() }).meta({ id: 'RunList' });
export type RunList = z.infer<typeof RunList>;

/** The optional agent fields a `PATCH` may clear by sending `null`. */
export const AGENT_CLEARABLE_FIELDS = ['system_prompt', 'script', 'command', 'parameters_schema', 'output_schema', 'timeout_seconds', 'workspace_mode', 'may_start', 'pull_request'] as const;

/** `PATCH /agents/:name`: any field but the name; the merged agent is validated as a whole. */
export const UpdateAgentRequest = AgentFields.omit({ name: true }).partial().strict().meta({ id: 'UpdateAgentRequest' });
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

const ScriptContent = z.string().min(1, 'script_content is empty').max(MAX_SCRIPT_BYTES);

export const CreateScriptRequest = ScriptDefinition.extend({ script_content: ScriptContent }).strict().meta({ id: 'CreateScriptRequest' });
export type CreateScriptRequest = z.infer<typeof CreateScriptRequest>;

/** The optional script fields a `PATCH` may clear by sending `null`. */
export const SCRIPT_CLEARABLE_FIELDS = ['parameters_schema'] as const;

export const UpdateScriptRequest = ScriptDefinition.omit({ name: true }).extend({ script_content: ScriptContent }).partial().strict().meta({ id: 'UpdateScriptRequest' });
export type UpdateScriptRequest = z.infer<typeof UpdateScriptRequest>;

/** Every 4xx and 5xx answer: what went wrong, in words, and for some errors the details (zod problems, a schema, a limit). */
export const ErrorBody = z.object({ error: z.string(), details: z.record(z.string(), z.unknown()).optional() }).meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** `GET /healthz`. */
export const HealthResponse = z.object({ ok: z.literal(true) }).meta({ id: 'HealthResponse' });

/** `GET /runs/:id/events` (JSON): a page of events; `next_after` is the `after` of the next page, when there may be one. */
export const EventPage = z.object({ events: z.array(RunEvent), next_after: z.number().optional() }).meta({ id: 'EventPage' });
/**
 * The same page as the document shows it: each event typed by its kind (`RunEventOfKind`). Only the
 * document: clients read pages with `EventPage`, so events stored before a kind's schema tightened stay readable.
 */
export const TypedEventPage = z
  .object({ events: z.array(z.intersection(RunEvent, RunEventOfKind)), next_after: z.number().optional() })
  .meta({ id: 'TypedEventPage' });

/** `GET /runners`. */
export const RunnerList = z.object({ runners: z.array(RunnerView) }).meta({ id: 'RunnerList' });

/** A listing entry whose file could not be read: shown with its error, never hiding the others. */
export const BrokenFile = z.object({ name: z.string(), file: z.string().optional(), error: z.string() }).meta({ id: 'BrokenFile' });
export type BrokenFile = z.infer<typeof BrokenFile>;

export const ProfileListing = z.union([z.object({ name: z.string(), file: z.string(), profile: ExecutorProfile }), BrokenFile]).meta({ id: 'ProfileListing' });
export type ProfileListing = z.infer<typeof ProfileListing>;
/** `GET /profiles`. */
export const ProfileList = z.object({ profiles: z.array(ProfileListing) }).meta({ id: 'ProfileList' });

export const AgentListing = z.union([Agent, BrokenFile]).meta({ id: 'AgentListing' });
export type AgentListing = z.infer<typeof AgentListing>;
/** `GET /agents`. */
export const AgentList = z.object({ agents: z.array(AgentListing) }).meta({ id: 'AgentList' });

/** `GET /scripts` entry: a script without its content. */
export const ScriptSummary = Script.omit({ script_content: true }).meta({ id: 'ScriptSummary' });
export type ScriptSummary = z.infer<typeof ScriptSummary>;
export const ScriptListing = z.union([ScriptSummary, BrokenFile]).meta({ id: 'ScriptListing' });
export type ScriptListing = z.infer<typeof ScriptListing>;
/** `GET /scripts`. */
export const ScriptList = z.object({ scripts: z.array(ScriptListing) }).meta({ id: 'ScriptList' });

/** A session: the runs that share a `session_id`, summed up. */
export const SessionSummary = z.object({
  session_id: z.string(),
  agent: z.string().optional(),
  runs: z.number().int(),
  last_status: z.string().optional(),
  last_run_at: z.string(),
}).meta({ id: 'SessionSummary' });
export type SessionSummary = z.infer<typeof SessionSummary>;
/** `GET /sessions`. */
export const SessionList = z.object({ sessions: z.array(SessionSummary) }).meta({ id: 'SessionList' });
/** A run in a session's chain: where its work is (branch, diff summary) and what it used. */
export const SessionRun = RunSummary.extend({
  workspace: z
    .object({
      branch: z.string().optional(),
      base_commit: z.string().optional(),
      head_commit: z.string().optional(),
      /** The run changed nothing and left no branch. */
      branch_deleted: z.boolean().optional(),
      diff: z.object({ files_changed: z.number(), added: z.number(), removed: z.number() }).optional(),
    })
    .optional(),
  /** This run's own usage (a resumed run's, not the session's running total). */
  usage: RunUsage.optional(),
}).meta({ id: 'SessionRun' });
export type SessionRun = z.infer<typeof SessionRun>;

/** `GET /sessions/:id`: the session's runs, oldest first, and what they used together. */
export const SessionView = z
  .object({
    session_id: z.string(),
    runs: z.array(SessionRun),
    total: z.object({
      usage: RunUsage,
      /** The sum of the runs' costs; unset when no run has one. */
      cost_usd: z.number().optional(),
      /** Runs that have a usage but no cost (a model without a price): the cost leaves them out. */
      unpriced_runs: z.number().int().nonnegative(),
    }),
  })
  .meta({ id: 'SessionView' });
export type SessionView = z.infer<typeof SessionView>;

import { z } from 'zod';
import { AgentFields, MAX_SCRIPT_BYTES, ScriptDefinition } from './config-files.js';
import { Demands } from './demands.js';
import { GitRef, Name, RunnerId, SessionId, Tag } from './names.js';
import { RunStatus } from './run-status.js';
import { RunState, SessionMode } from './workflow-io.js';

/** HTTP request and response bodies: the API validates requests with these, the web client parses answers with them. */

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
  })
  .strict()
  .refine((request) => request.mode !== 'resume' || request.session_id !== undefined, {
    message: 'mode "resume" needs a session_id',
    path: ['mode'],
  });
export type CreateRunRequest = z.infer<typeof CreateRunRequest>;

export const CreateRunResponse = z.object({ id: z.string(), status: RunStatus, url: z.string() });
export type CreateRunResponse = z.infer<typeof CreateRunResponse>;

/** `GET /runs` query: filters by search attributes, newest first, paged by `cursor`. */
export const ListRunsQuery = z
  .object({
    status: RunStatus.optional(),
    agent: Name.optional(),
    runner: RunnerId.optional(),
    session: SessionId.optional(),
    tag: Tag.optional(),
    cursor: z.iso.datetime({ message: 'cursor is the next_cursor of a previous page' }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

/** `POST /runs/:id/stop` body. */
export const StopRunRequest = z.object({ reason: z.string().max(500).optional() }).strict();

/** `POST /runs/:id/stop` → 202. */
export const StopRunResponse = z.object({ id: z.string(), status: z.enum(['stopping', 'stopped']) });

/** `GET /runs/:id`. */
export const RunView = RunState.extend({
  id: z.string(),
  workflow_id: z.string(),
  temporal_ui_url: z.string(),
});
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
  temporal_ui_url: z.string(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const RunList = z.object({ runs: z.array(RunSummary), next_cursor: z.string().optional() });
export type RunList = z.infer<typeof RunList>;

/** The optional agent fields a `PATCH` may clear by sending `null`. */
export const AGENT_CLEARABLE_FIELDS = ['system_prompt', 'script', 'command', 'parameters_schema', 'output_schema', 'timeout_seconds', 'workspace_mode'] as const;

/** `PATCH /agents/:name`: any field but the name; the merged agent is validated as a whole. */
export const UpdateAgentRequest = AgentFields.omit({ name: true }).partial().strict();
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

const ScriptContent = z.string().min(1, 'script_content is empty').max(MAX_SCRIPT_BYTES);

export const CreateScriptRequest = ScriptDefinition.extend({ script_content: ScriptContent }).strict();
export type CreateScriptRequest = z.infer<typeof CreateScriptRequest>;

/** The optional script fields a `PATCH` may clear by sending `null`. */
export const SCRIPT_CLEARABLE_FIELDS = ['parameters_schema'] as const;

export const UpdateScriptRequest = ScriptDefinition.omit({ name: true }).extend({ script_content: ScriptContent }).partial().strict();
export type UpdateScriptRequest = z.infer<typeof UpdateScriptRequest>;

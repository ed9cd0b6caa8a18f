import { z } from 'zod';
import { RUN_STATUSES } from './run-status.js';

/**
 * The shared domain contract: one schema per shape, its type under the same name.
 * The API validates requests with these, the web client parses responses with them,
 * and workers validate files and invocations.
 */

/** A user-given name that may become a folder name: no separators, no dot-dot, a sane charset. */
export const Name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((name) => !name.includes('..'), 'must not contain ".."');
export type Name = z.infer<typeof Name>;

export const EXECUTOR_TYPES = ['claude-code', 'codex', 'gemini', 'procedural', 'echo'] as const;
export const ExecutorType = z.enum(EXECUTOR_TYPES);
export type ExecutorType = z.infer<typeof ExecutorType>;

export const Tag = z.string().min(1).max(64).regex(/^[A-Za-z0-9._:/-]+$/, 'tags use letters, digits and . _ : / -');

/** What a run asks of the runner that executes it (design §3). */
export const Demands = z
  .object({
    hostname: z.string().min(1).optional(),
    project_dir: z.string().min(1).optional(),
    executor_profile: Name.optional(),
    executor_type: ExecutorType.optional(),
    tags: z.array(Tag).default([]),
  })
  .strict();
export type Demands = z.infer<typeof Demands>;

/** An executable and its leading arguments, never a shell string. A string is one executable path. */
export const Command = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((value) => (typeof value === 'string' ? [value] : value));

export const ExecutorConfig = z.record(z.string(), z.unknown());
export type ExecutorConfig = z.infer<typeof ExecutorConfig>;

/** `profiles/<name>.json`: how a runner executes runs. */
export const ExecutorProfile = z
  .object({
    description: z.string().max(300).optional(),
    type: ExecutorType,
    command: Command.optional(),
    config: ExecutorConfig.default({}),
    lifecycle: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type ExecutorProfile = z.infer<typeof ExecutorProfile>;

/** The executor a runner carries: its profile resolved to type, command and config. */
export const RunnerExecutor = z.object({
  type: ExecutorType,
  command: z.array(z.string()).optional(),
  config: ExecutorConfig,
});
export type RunnerExecutor = z.infer<typeof RunnerExecutor>;

/** What a runner tells the fleet about itself when it registers. */
export const RunnerRegistration = z.object({
  runner_id: z.string().min(1),
  hostname: z.string().min(1),
  project_dir: z.string().min(1),
  executor_profile: z.string().min(1),
  executor: RunnerExecutor,
  tags: z.array(Tag),
  require_matching_tags: z.boolean(),
  capacity: z.number().int().positive(),
  /** Which process holds this identity, so a second one can be refused with a useful message. */
  instance: z.object({ id: z.string(), pid: z.number().int(), started_at: z.string() }),
});
export type RunnerRegistration = z.infer<typeof RunnerRegistration>;

export const AgentStatus = z.enum(['active', 'inactive']);

/** `config/agents/<name>/agent.json`; `AgentFields` is its shape before the cross-field rules. */
export const AgentFields = z
  .object({
    name: Name,
    description: z.string().max(500).default(''),
    type: z.enum(['autonomous', 'procedural']).default('autonomous'),
    system_prompt: z.string().optional(),
    /** The synced script a procedural agent runs (`config/scripts/<name>/`). */
    script: Name.optional(),
    /** Or, for a procedural agent, an executable on the runner itself (argv, relative to the project dir). */
    command: z.array(z.string().min(1)).min(1).optional(),
    parameters_schema: z.record(z.string(), z.unknown()).optional(),
    output_schema: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(Tag).default([]),
    demands: Demands.default({ tags: [] }),
    status: AgentStatus.default('active'),
    timeout_seconds: z.number().int().positive().optional(),
    /** Where its runs work: a git worktree per run, the project folder itself, or an empty temp folder. */
    workspace_mode: z.enum(['worktree', 'project', 'temp']).optional(),
  })
  .strict();

export const Agent = AgentFields.superRefine((agent, context) => {
  if (agent.type === 'procedural' && !agent.script && !agent.command) {
    context.addIssue({ code: 'custom', path: ['script'], message: 'a procedural agent needs a script (or a runner-local command)' });
  }
  if (agent.script && agent.command) context.addIssue({ code: 'custom', path: ['command'], message: 'give either script or command, not both' });
  if (agent.type === 'autonomous' && (agent.script || agent.command)) {
    context.addIssue({ code: 'custom', path: ['type'], message: 'only procedural agents run a script or command' });
  }
});
export type Agent = z.infer<typeof Agent>;

/** The optional agent fields a `PATCH` may clear by sending `null`. */
export const AGENT_CLEARABLE_FIELDS = ['system_prompt', 'script', 'command', 'parameters_schema', 'output_schema', 'timeout_seconds', 'workspace_mode'] as const;

/** `PATCH /agents/:name`: any field but the name; the merged agent is validated as a whole. */
export const UpdateAgentRequest = AgentFields.omit({ name: true }).partial().strict();
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

/** A script's file name: a plain file in its folder, never the folder's own `script.json`. */
export const ScriptFileName = Name.refine((name) => name !== 'script.json', 'script.json is reserved for the definition');

/** `config/scripts/<name>/script.json`: what a script is, beside its file. */
export const ScriptDefinition = z
  .object({
    name: Name,
    description: z.string().max(500).default(''),
    script_file: ScriptFileName,
    parameters_schema: z.record(z.string(), z.unknown()).optional(),
    demands: Demands.default({ tags: [] }),
  })
  .strict();
export type ScriptDefinition = z.infer<typeof ScriptDefinition>;

/** Scripts are small programs, kept whole in the API and in one bundle. */
export const MAX_SCRIPT_BYTES = 1_000_000;
const ScriptContent = z.string().min(1, 'script_content is empty').max(MAX_SCRIPT_BYTES);

/** A script with its content and version (the hash of both). */
export const Script = ScriptDefinition.extend({ script_content: z.string(), version: z.string() });
export type Script = z.infer<typeof Script>;

export const CreateScriptRequest = ScriptDefinition.extend({ script_content: ScriptContent }).strict();
export type CreateScriptRequest = z.infer<typeof CreateScriptRequest>;

/** The optional script fields a `PATCH` may clear by sending `null`. */
export const SCRIPT_CLEARABLE_FIELDS = ['parameters_schema'] as const;

export const UpdateScriptRequest = ScriptDefinition.omit({ name: true }).extend({ script_content: ScriptContent }).partial().strict();
export type UpdateScriptRequest = z.infer<typeof UpdateScriptRequest>;

/** The script a procedural run needs on its runner, at this exact version. */
export const ScriptRef = z.object({ name: Name, version: z.string(), script_file: z.string() });
export type ScriptRef = z.infer<typeof ScriptRef>;

export const SessionId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'use letters, digits, ".", "_" or "-"');

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
    mode: z.enum(['new', 'resume']).optional(),
    /** The branch, tag or commit the run's worktree starts from (default: the project's HEAD). */
    base_ref: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/@^~-]{0,199}$/, 'not a git ref').optional(),
  })
  .strict()
  .refine((request) => request.mode !== 'resume' || request.session_id !== undefined, {
    message: 'mode "resume" needs a session_id',
    path: ['mode'],
  });
export type CreateRunRequest = z.infer<typeof CreateRunRequest>;

/** The `run` workflow's input. */
export const RunInput = z.object({
  run_id: z.string(),
  agent: Name,
  prompt: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  additional_demands: Demands.partial().optional(),
  timeout_seconds: z.number().int().positive().optional(),
  no_runner_timeout_seconds: z.number().int().positive().optional(),
  /** How long a picked runner has to take the run before another is picked. */
  dispatch_timeout_seconds: z.number().int().positive().optional(),
  session_id: z.string(),
  session_mode: z.enum(['new', 'resume']),
  base_ref: z.string().optional(),
  created_at: z.string(),
});
export type RunInput = z.infer<typeof RunInput>;

/** What an executor process reads as JSON on stdin. */
export const EXECUTOR_INVOCATION_SCHEMA_VERSION = '2.1';
export const ExecutorInvocation = z.object({
  schema_version: z.literal(EXECUTOR_INVOCATION_SCHEMA_VERSION),
  run_id: z.string(),
  agent: z.object({
    name: z.string(),
    type: z.string(),
    system_prompt: z.string().optional(),
    /** JSON Schema the run's final answer must match; it becomes `result_data.output`. */
    output_schema: z.record(z.string(), z.unknown()).optional(),
  }),
  prompt: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  executor_type: ExecutorType,
  executor_config: ExecutorConfig,
  workspace_dir: z.string(),
  session_id: z.string().optional(),
});
export type ExecutorInvocation = z.infer<typeof ExecutorInvocation>;

/** What an executor process prints as its last JSON line on stdout. */
export const ExecutorOutput = z.object({
  status: z.enum(['completed', 'failed']).default('completed'),
  result_data: z.unknown().optional(),
  error: z.string().optional(),
  session_id: z.string().optional(),
});
export type ExecutorOutput = z.infer<typeof ExecutorOutput>;

/** Where a run worked and what it changed (design §2, issue: workspaces). */
export const WorkspaceSummary = z.object({
  mode: z.enum(['worktree', 'project', 'temp']),
  dir: z.string(),
  branch: z.string().optional(),
  base_commit: z.string().optional(),
  head_commit: z.string().optional(),
  committed: z.boolean().optional(),
  removed: z.boolean().optional(),
  diff: z
    .object({
      files_changed: z.number(),
      added: z.number(),
      removed: z.number(),
      files: z.array(z.object({ path: z.string(), added: z.number(), removed: z.number() })),
    })
    .optional(),
});
export type WorkspaceSummary = z.infer<typeof WorkspaceSummary>;

/** What the execute activity returns to the workflow. */
export const ExecutionResult = z.object({
  workspace: WorkspaceSummary.optional(),
  exit_code: z.number().int().nullable(),
  result_data: z.unknown().optional(),
  session_id: z.string().optional(),
  stdout_tail: z.string(),
  stderr_tail: z.string(),
});
export type ExecutionResult = z.infer<typeof ExecutionResult>;

export const RunStatus = z.enum(RUN_STATUSES);

export const StatusChange = z.object({ status: RunStatus, at: z.string(), reason: z.string().optional() });
export type StatusChange = z.infer<typeof StatusChange>;

/** The run as the workflow knows it (its `runState` query). */
export const RunnerSummary = z.object({
  runner_id: z.string(),
  hostname: z.string(),
  project_dir: z.string(),
  executor_profile: z.string(),
});
export type RunnerSummary = z.infer<typeof RunnerSummary>;

export const RunState = z.object({
  run_id: z.string(),
  agent: z.string(),
  session_id: z.string(),
  /** The executor's own session (Claude session id, Codex thread id): what a resumed run continues. */
  executor_session_id: z.string().optional(),
  /** The runner that ran (or runs) it, for session affinity. */
  runner: RunnerSummary.optional(),
  timeout_seconds: z.number().optional(),
  workspace: WorkspaceSummary.optional(),
  status: RunStatus,
  parameters: z.record(z.string(), z.unknown()),
  demands: Demands.optional(),
  /** The script a procedural run runs, at the version its parameters were checked against. */
  script: ScriptRef.optional(),
  runner_id: z.string().optional(),
  pending_reason: z.string().optional(),
  /** When the runner spawned the executor process (runner clock). */
  executor_started_at: z.string().optional(),
  result: z.unknown().optional(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  history: z.array(StatusChange),
  created_at: z.string(),
});
export type RunState = z.infer<typeof RunState>;

/** `GET /runs/:id`. */
export const RunView = RunState.extend({
  id: z.string(),
  workflow_id: z.string(),
  temporal_ui_url: z.string(),
});
export type RunView = z.infer<typeof RunView>;

export const CreateRunResponse = z.object({ id: z.string(), status: RunStatus, url: z.string() });
export type CreateRunResponse = z.infer<typeof CreateRunResponse>;

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

/** A script as installed on a runner. */
export const InstalledScript = z.object({ version: z.string(), installed_at: z.string() });
export type InstalledScript = z.infer<typeof InstalledScript>;

/** A script install (or removal) that failed on a runner; it is retried with a growing pause. */
export const ScriptSyncFailure = z.object({
  /** The version being installed, or `removed`. */
  version: z.string(),
  error: z.string(),
  at: z.string(),
  attempts: z.number().int(),
  next_attempt_at: z.string(),
});
export type ScriptSyncFailure = z.infer<typeof ScriptSyncFailure>;

export const RUNNER_STATUSES = ['online', 'draining', 'unhealthy', 'offline'] as const;
export const RunnerStatus = z.enum(RUNNER_STATUSES);
export type RunnerStatus = z.infer<typeof RunnerStatus>;

/** `GET /runners` entry: the runner workflow's state with what the fleet view derives from it. */
export const RunnerView = z.object({
  runner_id: z.string(),
  registration: RunnerRegistration,
  status: RunnerStatus,
  online: z.boolean(),
  offline_reason: z.string().optional(),
  since: z.string(),
  active_runs: z.array(z.string()),
  draining: z.boolean(),
  unhealthy_reason: z.string().optional(),
  load: z.number(),
  capacity: z.number(),
  /** When the runner's presence last heartbeat reached Temporal. */
  last_heartbeat_at: z.string().optional(),
  scripts: z.record(z.string(), InstalledScript),
  script_failures: z.record(z.string(), ScriptSyncFailure),
});
export type RunnerView = z.infer<typeof RunnerView>;

import { z } from 'zod';
import { ConcurrencyLimit } from './concurrency.js';
import { Budget } from './budget.js';
import { Demands } from './demands.js';
import { Name, Tag } from './names.js';
import { PullRequestConfig } from './pull-requests.js';
import { WorkspaceMode } from './workspace.js';

/** The shapes of ao's config files: agents and scripts (profiles: `executor-profile.ts`). */

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
    workspace_mode: WorkspaceMode.optional(),
    /** At most `limit` runs of this agent sharing the key run at once, fleet-wide; others wait pending. */
    concurrency: ConcurrencyLimit.optional(),
    /** What each of its runs may spend; a profile's or a run request's stricter limit wins. */
    budget: Budget.optional(),
    /**
     * The agents this agent's runs may start as child runs through ao's MCP server (`start_run`).
     * @defaultValue none: its runs can read nothing and start nothing.
     */
    may_start: z.array(Name).max(100).optional(),
    /**
     * Its runs end by pushing their branch and opening a pull request through this forge command,
     * when they worked in a git worktree and committed something (`POST /runs` `pull_request: false` opts out).
     */
    pull_request: PullRequestConfig.optional(),
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
}).meta({ id: 'Agent' });
export type Agent = z.infer<typeof Agent>;

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

/** A script with its content and version (the hash of both). */
export const Script = ScriptDefinition.extend({ script_content: z.string(), version: z.string() }).meta({ id: 'Script' });
export type Script = z.infer<typeof Script>;

/** The script a procedural run needs on its runner, at this exact version. */
export const ScriptRef = z.object({ name: Name, version: z.string(), script_file: z.string() });
export type ScriptRef = z.infer<typeof ScriptRef>;

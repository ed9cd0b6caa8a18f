import { z } from 'zod';
import { OnApprovalTimeout } from './approvals.js';
import { Budget } from './budget.js';
import { PriceTable } from './usage.js';
import { RunPolicy } from './policy.js';
import { WorkspaceMode } from './workspace.js';

/**
 * Executor profiles (`profiles/<name>.json`): a typed catalog of executor type → config schema.
 * Every schema is strict, so a misspelt key is an error naming the key and the file, at runner
 * start, in `--profile-list` and in `GET /profiles`, instead of a silently ignored setting.
 */

export const EXECUTOR_TYPES = ['claude-code', 'codex', 'gemini', 'procedural', 'echo'] as const;
export const ExecutorType = z.enum(EXECUTOR_TYPES);
export type ExecutorType = z.infer<typeof ExecutorType>;

/** An executable and its leading arguments, never a shell string. A string is one executable path. */
export const Command = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((value) => (typeof value === 'string' ? [value] : value));

const ToolList = z.array(z.string().min(1));
const Seconds = z.number().int().positive();

/** An environment variable's name. */
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name');

/** Keys every executor type understands: where its runs work, how long, what is left behind, what it is given. */
const runSettings = {
  /**
   * Variables set for the executor. Executors get a clean environment: a small base (`PATH`, `HOME`,
   * `LANG`, `TERM`, …), ao's own invocation variables, and only what the profile lists here and in
   * `env_passthrough` — never the runner's credentials or ao's and Temporal's settings.
   */
  env: z.record(EnvName, z.string()).optional(),
  /** Names of the runner's own variables passed on as they are, e.g. the vendor's API key and endpoint. */
  env_passthrough: z.array(EnvName).optional(),
  /** The workspace of runs whose agent does not choose one; default `worktree` in a git project, else `project`. */
  workspace_mode: WorkspaceMode.optional(),
  /** Caps every run's timeout on this runner. */
  timeout_seconds: Seconds.optional(),
  /** @defaultValue true: work left uncommitted is committed to the run's branch. */
  commit_uncommitted: z.boolean().optional(),
  /** @defaultValue false: the worktree folder is removed once the run ends (its branch stays). */
  keep_worktree: z.boolean().optional(),
  /** @defaultValue false: the branch of a run that changed nothing is deleted with its worktree folder; true keeps it. */
  keep_empty_branches: z.boolean().optional(),
};

/**
 * Keys of the agent CLIs that ask ao about tool uses over their structured protocol (Claude Code
 * stream-json, Codex app-server, Gemini ACP): which uses wait for an operator, and for how long.
 */
const supervisionSettings = {
  /** Tools whose every use the CLI asks about waits for an operator (`*`: every tool it asks about); tools it asks about that are not listed are allowed. */
  approval_required_tools: ToolList.optional(),
  /** @defaultValue false: true asks an operator about every tool the CLI asks about (as `approval_required_tools: ["*"]`). */
  approvals: z.boolean().optional(),
  /** @defaultValue 3600: how long an approval may wait for an operator. */
  approval_timeout_seconds: Seconds.optional(),
  /** @defaultValue `deny`: what an unanswered approval does: the tool is denied, or the run fails. */
  on_approval_timeout: OnApprovalTimeout.optional(),
};
export type SupervisionSettings = { [K in keyof typeof supervisionSettings]?: z.infer<(typeof supervisionSettings)[K]> };

/** The most retries of a failing vendor API request an agent CLI may make (gemini takes at most 10 attempts). */
export const MAX_VENDOR_RETRIES = 9;

/** Keys of the agent CLIs that call a vendor's model API themselves. */
const vendorSettings = {
  /**
   * How many times the CLI retries a failing model request (HTTP 5xx, 529, 429) before the run fails;
   * unset: the CLI's own default (minutes of retries). Mapped to each CLI's own setting.
   */
  max_vendor_retries: z.number().int().min(0).max(MAX_VENDOR_RETRIES).optional(),
};

export const BaseExecutorConfig = z.object(runSettings).strict();
export type BaseExecutorConfig = z.infer<typeof BaseExecutorConfig>;

/** The modes `claude --permission-mode` takes (`default` is still accepted as the old name of `manual`). */
export const CLAUDE_PERMISSION_MODES = ['acceptEdits', 'auto', 'bypassPermissions', 'default', 'manual', 'dontAsk', 'plan'] as const;

export const ClaudeCodeConfig = z
  .object({
    ...runSettings,
    ...supervisionSettings,
    ...vendorSettings,
    /** @defaultValue `acceptEdits` */
    permission_mode: z.enum(CLAUDE_PERMISSION_MODES).optional(),
    /** A model name, or a seniority → model map picked by the run parameter `seniority`. */
    model: z.union([z.string().min(1), z.record(z.string(), z.string().min(1))]).optional(),
    allowed_tools: ToolList.optional(),
    disallowed_tools: ToolList.optional(),
    setting_sources: z.array(z.enum(['user', 'project', 'local'])).optional(),
    max_turns: z.number().int().positive().optional(),
    /** Passed as `--mcp-config {"mcpServers": …}`. */
    mcp_servers: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    /** Model → USD per million tokens, over the shipped price table: what each model request costs while the run goes (budgets); the CLI's own figure is the run's cost. */
    prices: PriceTable.optional(),
  })
  .strict();
export type ClaudeCodeConfig = z.infer<typeof ClaudeCodeConfig>;

export const CODEX_SANDBOXES = ['read-only', 'workspace-write', 'danger-full-access'] as const;

/** Scalars, lists and tables: what codex's `-c key=value` (TOML) can carry. */
// Named, so that the OpenAPI document refers to it instead of expanding it forever.
const TomlValue: z.ZodType<unknown> = z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.array(TomlValue), z.record(z.string(), TomlValue)]))
  .meta({ id: 'TomlValue' });

export const CodexConfig = z
  .object({
    ...runSettings,
    ...supervisionSettings,
    ...vendorSettings,
    model: z.string().min(1).optional(),
    /** @defaultValue `workspace-write` */
    sandbox: z.enum(CODEX_SANDBOXES).optional(),
    approval_policy: z.enum(['untrusted', 'on-failure', 'on-request', 'never']).optional(),
    /** Codex's `model_reasoning_effort`; codex itself checks the value. */
    reasoning_effort: z.string().min(1).optional(),
    /** Declared as the `ao` model provider: how to point codex at another endpoint. */
    provider: z
      .object({ name: z.string().min(1), base_url: z.string().min(1), wire_api: z.string().min(1).optional(), env_key: z.string().min(1).optional() })
      .catchall(TomlValue)
      .optional(),
    /** Any other `-c` overrides. */
    config: z.record(z.string(), TomlValue).optional(),
    /** Model → USD per million tokens, over the shipped price table (codex reports no cost). */
    prices: PriceTable.optional(),
  })
  .strict();
export type CodexConfig = z.infer<typeof CodexConfig>;

export const GEMINI_APPROVAL_MODES = ['default', 'auto_edit', 'yolo', 'plan'] as const;

export const GeminiConfig = z
  .object({
    ...runSettings,
    ...supervisionSettings,
    ...vendorSettings,
    model: z.string().min(1).optional(),
    /** @defaultValue `yolo`: without it non-interactive gemini does not offer its write tools. */
    approval_mode: z.enum(GEMINI_APPROVAL_MODES).optional(),
    /** A policy file or folder, `--policy`. */
    policy: z.string().min(1).optional(),
    /** Merged into the prepared settings home's `settings.json`. */
    settings: z.record(z.string(), z.unknown()).optional(),
    /** Model → USD per million tokens, over the shipped price table (gemini reports no cost). */
    prices: PriceTable.optional(),
  })
  .strict();
export type GeminiConfig = z.infer<typeof GeminiConfig>;

/** Executor type → the schema of its profile's `config`. */
export const executorConfigSchemas = {
  'claude-code': ClaudeCodeConfig,
  codex: CodexConfig,
  gemini: GeminiConfig,
  procedural: BaseExecutorConfig,
  echo: BaseExecutorConfig,
} as const satisfies { [K in ExecutorType]: z.ZodType };

export type ExecutorConfigOf<K extends ExecutorType> = z.infer<(typeof executorConfigSchemas)[K]>;
export type ExecutorConfig = ExecutorConfigOf<ExecutorType>;

/** What a failing `pre_run` hook does: fail the run at once, or ask an operator whether it continues. */
export const HOOK_FAILURE_ACTIONS = ['fail', 'ask'] as const;
export const HookFailureAction = z.enum(HOOK_FAILURE_ACTIONS);
export type HookFailureAction = z.infer<typeof HookFailureAction>;

const Lifecycle = z
  .object({
    /** A folder of `pre_run`, `post_run` and `health_check` hooks, relative to the profiles folder. */
    hooks_dir: z.string().min(1).optional(),
    pre_run: z
      .object({
        /** @defaultValue `fail`. `ask`: the failure is an approval (allow: the run goes on; deny: it fails with the hook's failure). */
        on_failure: HookFailureAction.optional(),
        /** @defaultValue 3600: how long the question waits; unanswered, the run fails. */
        approval_timeout_seconds: Seconds.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What every profile has besides its type and config. */
const profileFields = {
  description: z.string().max(300).optional(),
  command: Command.optional(),
  lifecycle: Lifecycle.optional(),
  /**
   * What ao itself refuses, allows or puts to an operator in every run of this profile, and what each
   * CLI's own settings are made to refuse; a run request's `policy` can only tighten it. Beside `config`
   * (not in it): the Gemini config's `policy` is the CLI's own policy file.
   */
  policy: RunPolicy.optional(),
  /** What each run of this profile may spend; an agent's or a run request's stricter limit wins. */
  budget: Budget.optional(),
};

/** `profiles/<name>.json`: how a runner executes runs; `type` picks the config schema. */
export const ExecutorProfile = z.discriminatedUnion(
  'type',
  [
    z.object({ ...profileFields, type: z.literal('claude-code'), config: ClaudeCodeConfig.default({}) }).strict(),
    z.object({ ...profileFields, type: z.literal('codex'), config: CodexConfig.default({}) }).strict(),
    z.object({ ...profileFields, type: z.literal('gemini'), config: GeminiConfig.default({}) }).strict(),
    z.object({ ...profileFields, type: z.literal('procedural'), config: BaseExecutorConfig.default({}) }).strict(),
    z.object({ ...profileFields, type: z.literal('echo'), config: BaseExecutorConfig.default({}) }).strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `must be one of ${EXECUTOR_TYPES.join(', ')}` : undefined) },
).meta({ id: 'ExecutorProfile' });
export type ExecutorProfile = z.infer<typeof ExecutorProfile>;
export type ExecutorProfileOf<K extends ExecutorType> = Extract<ExecutorProfile, { type: K }>;

/** The executor a runner carries, as the fleet shows it: its profile resolved to type, command and config. */
export const RunnerExecutor = z.object({
  type: ExecutorType,
  command: z.array(z.string()).optional(),
  config: z.record(z.string(), z.unknown()),
});
export type RunnerExecutor = z.infer<typeof RunnerExecutor>;

import { z } from 'zod';
import { Approval } from './approvals.js';
import { LiveControls } from './runner-commands.js';
import { ConcurrencyLimit } from './concurrency.js';
import { Budget } from './budget.js';
import { Demands } from './demands.js';
import { ScriptRef } from './config-files.js';
import { Name } from './names.js';
import { RunPolicy } from './policy.js';
import { PullRequestConfig, PullRequestOutcome } from './pull-requests.js';
import { RunStatus } from './run-status.js';
import { WorkspaceSummary } from './workspace.js';

/** What the `run` workflow takes, keeps and answers. */

export const SESSION_MODES = ['new', 'resume'] as const;
export const SessionMode = z.enum(SESSION_MODES);

/** A child run's link to the run that started it (set by the parent's workflow, never by a caller). */
export const ParentLink = z.object({
  run_id: z.string(),
  /** 1 for a child of a top-level run, 2 for its child, and so on; capped by `AO_MAX_CHILD_DEPTH`. */
  depth: z.number().int().positive(),
  /** A detached child lives on when its parent ends; an attached one is stopped with it. */
  detached: z.boolean(),
});
export type ParentLink = z.infer<typeof ParentLink>;

/** One child of a run, as the parent's state lists it (the API reads each child's live status). */
export const ChildRun = z.object({ run_id: z.string(), status: RunStatus, detached: z.boolean() });
export type ChildRun = z.infer<typeof ChildRun>;

/** The `run` workflow's input. */
export const RunInput = z.object({
  run_id: z.string(),
  agent: Name,
  prompt: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  additional_demands: Demands.partial().optional(),
  timeout_seconds: z.number().int().positive().optional(),
  no_runner_timeout_seconds: z.number().int().positive().optional(),
  /** Higher is dispatched first when slots are scarce; equal priorities first come, first served. */
  priority: z.number().int().optional(),
  /** How long the run may wait for a free slot on runners that could take it; unset: as long as it takes. */
  queue_timeout_seconds: z.number().int().positive().optional(),
  /** The run request's concurrency limit (its key a template), applied besides the agent's. */
  concurrency: ConcurrencyLimit.optional(),
  /** How long a picked runner has to take the run before another is picked. */
  dispatch_timeout_seconds: z.number().int().positive().optional(),
  session_id: z.string(),
  session_mode: SessionMode,
  base_ref: z.string().optional(),
  /** The run request's policy, merged on the runner with its profile's. */
  policy: RunPolicy.optional(),
  /** The run request's budget; resolveRun merges in the agent's, the runner its profile's (the strictest wins). */
  budget: Budget.optional(),
  created_at: z.string(),
  /** Who started it: the token's name. */
  created_by: z.string().optional(),
  /** Set on a child run: its parent, its depth and whether it outlives the parent. */
  parent: ParentLink.optional(),
  /** Set when the run ends with a pull request: its agent's config as it was when the run started. */
  pull_request: PullRequestConfig.optional(),
});
export type RunInput = z.infer<typeof RunInput>;

/** What the execute activity returns to the workflow. */
export const ExecutionResult = z.object({
  workspace: WorkspaceSummary.optional(),
  exit_code: z.number().int().nullable(),
  result_data: z.unknown().optional(),
  session_id: z.string().optional(),
  stdout_tail: z.string(),
  stderr_tail: z.string(),
  /** The runner gave the run's slot back itself as the executor finished (the workflow then sends no release). */
  slot_released: z.literal(true).optional(),
});
export type ExecutionResult = z.infer<typeof ExecutionResult>;

/** One status change: when, why, and who caused it (the token's name) when a person did. */
export const StatusChange = z.object({ status: RunStatus, at: z.string(), reason: z.string().optional(), by: z.string().optional() });
export type StatusChange = z.infer<typeof StatusChange>;

/** The runner a run ran on, for session affinity. */
export const RunnerSummary = z.object({
  runner_id: z.string(),
  hostname: z.string(),
  project_dir: z.string(),
  executor_profile: z.string(),
});
export type RunnerSummary = z.infer<typeof RunnerSummary>;

/** The run as the workflow knows it (its `runState` query). */
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
  /** The run request's policy; the runner merges it with its profile's, which it can only tighten. */
  policy: RunPolicy.optional(),
  demands: Demands.optional(),
  /** The script a procedural run runs, at the version its parameters were checked against. */
  script: ScriptRef.optional(),
  runner_id: z.string().optional(),
  /** Every runner the run was handed to, in order (more than one after a hand-over). */
  assigned_runners: z.array(z.string()).optional(),
  pending_reason: z.string().optional(),
  /** When the runner spawned the executor process (runner clock). */
  executor_started_at: z.string().optional(),
  result: z.unknown().optional(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  history: z.array(StatusChange),
  /** Supervised runs: every approval the executor asked for, pending ones included, in order. */
  approvals: z.array(Approval).optional(),
  /** What the running executor can take over the runner command path (its capabilities), once it started. */
  live_controls: LiveControls.optional(),
  /** A child run: the run that started it. */
  parent_run_id: z.string().optional(),
  /** The child runs this run started, in order. */
  children: z.array(ChildRun).optional(),
  /** The pull request the run opened at its end (its agent's `pull_request`). */
  pull_request: PullRequestOutcome.optional(),
  created_at: z.string(),
});
export type RunState = z.infer<typeof RunState>;

import { z } from 'zod';
import { Demands } from './demands.js';
import { GitRef, Name, RunId } from './names.js';
import { RunPolicy } from './policy.js';
import { PullRequestConfig, PullRequestOutcome } from './pull-requests.js';
import { FLOW_RUN_STATUSES, REVIEW_VERDICTS } from './plain/flows.js';

/**
 * Flows: several agents' runs in one workflow (`workflows/flow.ts`), each step a child run. The
 * one kind today is builder–reviewer: a builder changes code on a branch, a reviewer on another
 * provider answers `approve` or `request_changes`, and the builder's session resumes with the
 * comments until the reviewer approves or `max_rounds` is reached.
 */

// The verdicts, the flow statuses and reading a review are zod-free, for workflow code.
export { FLOW_RUN_STATUSES, REVIEW_VERDICTS, isFinalFlowRunStatus, reviewOf } from './plain/flows.js';

/** What a reviewer answers (its agent's `output_schema` must ask for this; the flow workflow reads it with `reviewOf`). */
export const ReviewVerdict = z.enum(REVIEW_VERDICTS);
export type ReviewVerdict = z.infer<typeof ReviewVerdict>;
export const Review = z.object({ verdict: ReviewVerdict, comments: z.array(z.string()) });
export type Review = z.infer<typeof Review>;

/** One step's agent, and what its runs get besides the flow's: a policy (the reviewer's keeps it read-only), extra demands. */
export const FlowStep = z
  .object({
    agent: Name,
    /** Merged with the runner profile's policy, which it can only tighten. */
    policy: RunPolicy.optional(),
    additional_demands: Demands.partial().strict().optional(),
  })
  .strict();
export type FlowStep = z.infer<typeof FlowStep>;

/** `config/flows/<name>.json`. */
export const Flow = z
  .object({
    name: Name,
    description: z.string().max(500).default(''),
    builder: FlowStep,
    reviewer: FlowStep,
    /** Builder–reviewer rounds at most; the flow ends with the last verdict when they are used up. */
    max_rounds: z.number().int().min(1).max(10).default(3),
    pull_request: PullRequestConfig.optional(),
  })
  .strict()
  .meta({ id: 'Flow' });
export type Flow = z.infer<typeof Flow>;

/** `PUT /flows/:name`: the definition; its name is the path's. */
export const PutFlowRequest = Flow.omit({ name: true }).meta({ id: 'PutFlowRequest' });
export type PutFlowRequest = z.infer<typeof PutFlowRequest>;

/** `POST /flows/:name/runs`. */
export const StartFlowRunRequest = z
  .object({
    prompt: z.string().min(1).max(100_000),
    /** The project folder (on the runners) both steps work in; unset: wherever the builder's runner is. */
    project: z.string().min(1).max(4096).optional(),
    /** Where the builder's branch starts (default: the project's HEAD). */
    base_ref: GitRef.optional(),
    /** Added to both steps' demands (tags, say). */
    additional_demands: Demands.partial().strict().optional(),
    /** Open the pull request the flow defines once the reviewer approves. @defaultValue true when the flow defines one */
    pull_request: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'StartFlowRunRequest' });
export type StartFlowRunRequest = z.infer<typeof StartFlowRunRequest>;

/** A flow run's status: one closed set (final: completed, failed, stopped). */
export const FlowRunStatus = z.enum(FLOW_RUN_STATUSES);
export type FlowRunStatus = z.infer<typeof FlowRunStatus>;

export const FLOW_ROLES = ['builder', 'reviewer'] as const;
export const FlowRole = z.enum(FLOW_ROLES);
export type FlowRole = z.infer<typeof FlowRole>;

/** A diff summary: files with added / removed lines. */
export const DiffSummary = z.object({
  files_changed: z.number(),
  added: z.number(),
  removed: z.number(),
  files: z.array(z.object({ path: z.string(), added: z.number(), removed: z.number() })),
});
export type DiffSummary = z.infer<typeof DiffSummary>;

/** One step: a child run of the flow's workflow. */
export const FlowStepState = z.object({
  role: FlowRole,
  round: z.number().int(),
  run_id: RunId,
  agent: z.string(),
  status: z.string(),
  branch: z.string().optional(),
  cost_usd: z.number().optional(),
  review: Review.optional(),
  error: z.string().optional(),
});
export type FlowStepState = z.infer<typeof FlowStepState>;

/** What the flow's workflow takes. */
export const FlowInput = z.object({
  flow_run_id: RunId,
  /** The definition as it was when the run started. */
  flow: Flow,
  prompt: z.string(),
  base_ref: GitRef.optional(),
  additional_demands: Demands.partial().optional(),
  open_pull_request: z.boolean(),
  created_at: z.string(),
  created_by: z.string().optional(),
});
export type FlowInput = z.infer<typeof FlowInput>;

/** The flow run as its workflow knows it (`flowStateQuery`, and its result). */
export const FlowRunState = z.object({
  flow_run_id: z.string(),
  flow: z.string(),
  status: FlowRunStatus,
  prompt: z.string(),
  max_rounds: z.number().int(),
  /** Rounds begun (a round: the builder's run, then the reviewer's). */
  rounds: z.number().int(),
  steps: z.array(FlowStepState),
  verdict: ReviewVerdict.optional(),
  comments: z.array(z.string()).optional(),
  /** The builder's last branch, and the diff from where it started to its end. */
  branch: z.string().optional(),
  base_commit: z.string().optional(),
  head_commit: z.string().optional(),
  diff: DiffSummary.optional(),
  /** Steps' costs summed (those whose executor reports or prices one). */
  cost_usd: z.number(),
  pull_request: PullRequestOutcome.optional(),
  error: z.string().optional(),
  history: z.array(z.object({ status: FlowRunStatus, at: z.string(), reason: z.string().optional(), by: z.string().optional() })),
  created_at: z.string(),
  created_by: z.string().optional(),
});
export type FlowRunState = z.infer<typeof FlowRunState>;

/** `GET /flow-runs/:id`. */
export const FlowRunView = FlowRunState.extend({ id: z.string(), workflow_id: z.string(), temporal_ui_url: z.string() }).meta({ id: 'FlowRunView' });
export type FlowRunView = z.infer<typeof FlowRunView>;

/** `GET /flow-runs` row. */
export const FlowRunSummary = z
  .object({ id: z.string(), flow: z.string().optional(), status: z.string(), started_at: z.string(), closed_at: z.string().optional(), temporal_ui_url: z.string() })
  .meta({ id: 'FlowRunSummary' });
export type FlowRunSummary = z.infer<typeof FlowRunSummary>;
export const FlowRunList = z.object({ flow_runs: z.array(FlowRunSummary) }).meta({ id: 'FlowRunList' });
export const ListFlowRunsQuery = z.object({ flow: Name.optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();

export const FlowListing = z.union([Flow, z.object({ name: z.string(), error: z.string() })]);
export const FlowList = z.object({ flows: z.array(FlowListing) }).meta({ id: 'FlowList' });

/** `POST /flow-runs/:id/stop`. */
export const StopFlowRunRequest = z.object({ reason: z.string().max(500).optional() }).strict().meta({ id: 'StopFlowRunRequest' });

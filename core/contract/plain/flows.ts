import type { FlowRunStatus, Review, ReviewVerdict } from '../flows.js';

/** Flow verdicts and statuses, zod-free for workflow code (./run-status.ts says why). */

/** What a reviewer answers (its agent's `output_schema` must ask for this). */
export const REVIEW_VERDICTS = ['approve', 'request_changes'] as const;

export const FLOW_RUN_STATUSES = ['running', 'stopping', 'completed', 'failed', 'stopped'] as const;
export const isFinalFlowRunStatus = (status: FlowRunStatus): boolean => status === 'completed' || status === 'failed' || status === 'stopped';

/**
 * A reviewer run's output read as a `Review` (the schema beside it, in ../flows.ts), without what
 * else it holds; undefined when it is not one. A test holds the two to the same answers.
 */
export function reviewOf(output: unknown): Review | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const { verdict, comments } = output as { verdict?: unknown; comments?: unknown };
  if (!(REVIEW_VERDICTS as readonly unknown[]).includes(verdict)) return undefined;
  if (!Array.isArray(comments) || !comments.every((comment) => typeof comment === 'string')) return undefined;
  return { verdict: verdict as ReviewVerdict, comments: [...comments] };
}

import { z } from 'zod';

/**
 * Supervised runs: a tool use the executor asks permission for, when ao's policy leaves it to a
 * person, becomes an approval the run shows until someone (or its timeout) decides it.
 */

export const APPROVAL_DECISIONS = ['allow', 'deny'] as const;
export const ApprovalDecision = z.enum(APPROVAL_DECISIONS);
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export const APPROVAL_STATUSES = [
  /** Waiting for a person. */
  'pending',
  /** A person allowed it: the tool ran (or runs). */
  'allowed',
  /** A person denied it: the executor was told no. */
  'denied',
  /** Nobody answered in time: denied, or the run failed, as the profile says. */
  'expired',
  /** The executor withdrew the question, or the run ended while it waited. */
  'withdrawn',
] as const;
export const ApprovalStatus = z.enum(APPROVAL_STATUSES);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** What a profile says happens to an approval nobody answers in time. */
export const ON_APPROVAL_TIMEOUT = ['deny', 'fail'] as const;
export const OnApprovalTimeout = z.enum(ON_APPROVAL_TIMEOUT);
export type OnApprovalTimeout = z.infer<typeof OnApprovalTimeout>;

/** What the runner reports when an executor asks: the tool use, as redacted as the run's events. */
export const ApprovalRequest = z.object({
  id: z.string(),
  tool: z.string(),
  input: z.record(z.string(), z.unknown()),
  /** The shell command, for shell tools. */
  command: z.string().optional(),
  /** The files the tool writes, for edit tools. */
  files: z.array(z.string()).optional(),
  /** The policy rule that asked for a person. */
  rule: z.string(),
  /** When the executor asked (the runner's clock). */
  requested_at: z.string(),
  timeout_seconds: z.number().int().positive(),
  on_timeout: OnApprovalTimeout,
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** An approval as the run keeps it (`GET /runs/:id` `approvals`). */
export const Approval = ApprovalRequest.extend({
  status: ApprovalStatus,
  /** When it expires (the workflow's clock). */
  expires_at: z.string(),
  decided_at: z.string().optional(),
  /** Who decided: the token's name; unset when it expired or was withdrawn. */
  decided_by: z.string().optional(),
  note: z.string().optional(),
  /** The same tool (for shell tools: the same program) was allowed for the rest of the run. */
  remember: z.boolean().optional(),
}).meta({ id: 'Approval' });
export type Approval = z.infer<typeof Approval>;

/** `POST /runs/:id/approvals/:approval_id` body. */
export const DecideApprovalRequest = z
  .object({
    decision: ApprovalDecision,
    /** Told to the model when denied; kept in the run's history either way. */
    note: z.string().max(2000).optional(),
    /** Allow the same tool (for shell tools: the same program) for the rest of the run without asking. */
    remember: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'DecideApprovalRequest' });
export type DecideApprovalRequest = z.infer<typeof DecideApprovalRequest>;

// Failure types of a refused decision (the update's validator): zod-free, for workflow code.
export { APPROVAL_EXPIRED, APPROVAL_NOT_FOUND, APPROVAL_NOT_PENDING } from './plain/approvals.js';

import { z } from 'zod';
import { ApprovalDecision } from './approvals.js';
import { RunStatus } from './run-status.js';

/**
 * What the run workflow tells the live execution on its runner (the runner command path): one
 * short activity on the runner's own queue, routed in memory to the execution it holds. Every
 * live control of a run (approvals, input, interrupt, pause, resume, stop) is a kind here.
 */
export const RunnerCommand = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('approval_decision'),
    approval_id: z.string(),
    decision: ApprovalDecision,
    /** The note, or why ao decided (a timeout): told to the model on a deny. */
    message: z.string().optional(),
    remember: z.boolean().optional(),
    by: z.string().optional(),
  }),
  /** A user message into the running session (or a procedural run's terminal). */
  z.object({ kind: z.literal('input'), text: z.string(), by: z.string().optional() }),
  /** Ends the agent's current turn; the run and its session go on. */
  z.object({ kind: z.literal('interrupt'), by: z.string().optional() }),
  /** Freezes every process of the run. */
  z.object({ kind: z.literal('pause'), by: z.string().optional() }),
  z.object({ kind: z.literal('resume'), by: z.string().optional() }),
  /** Ends every process of the run now: SIGTERM, then a kill after the grace unless `graceful` is false. */
  z.object({ kind: z.literal('stop'), graceful: z.boolean(), by: z.string().optional() }),
]);
export type RunnerCommand = z.infer<typeof RunnerCommand>;
export type RunnerCommandKind = RunnerCommand['kind'];

/** The runner's answer: whether the execution it holds took the command. */
export interface RunnerCommandReply {
  delivered: boolean;
  reason?: string;
  /** Input the executor takes only between turns: held until the current one ends. */
  queued?: boolean;
}

/** What a live execution can take (its executor's capabilities, as `GET /runs/:id` shows them). */
export const LiveControls = z.object({
  input: z.boolean(),
  /** Input sent mid-turn reaches the current turn; false: held until it ends (`202 { queued: true }`). */
  steer: z.boolean(),
  interrupt: z.boolean(),
});
export type LiveControls = z.infer<typeof LiveControls>;

// Failure types of a refused live command (the API answers 409 with the reason): zod-free, for workflow code.
export { COMMAND_REFUSED, RUN_NOT_LIVE } from './plain/runner-commands.js';

/** `POST /runs/:id/input`: a message for the running session (or a procedural run's terminal). */
export const SendInputRequest = z.object({ text: z.string().min(1).max(100_000) }).strict().meta({ id: 'SendInputRequest' });
export type SendInputRequest = z.infer<typeof SendInputRequest>;

/** `POST /runs/:id/input` → 200 `{ delivered: true }` or 202 `{ queued: true }` (held until the turn ends). */
export const SendInputResponse = z.object({ delivered: z.boolean(), queued: z.boolean() }).meta({ id: 'SendInputResponse' });
export type SendInputResponse = z.infer<typeof SendInputResponse>;

/** `POST /runs/:id/interrupt|pause|resume` → 200: the run's status after the command. */
export const LiveCommandResponse = z.object({ id: z.string(), status: RunStatus }).meta({ id: 'LiveCommandResponse' });

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { createRunnerActivities } from '../activities/runner.js';
import type { Approval, ApprovalRequest, DecideApprovalRequest } from '../core/contract/approvals.js';
import type { RunnerRegistration, RunnerState } from '../core/contract/fleet.js';
import type { RunInput, RunState, RunnerSummary } from '../core/contract/workflow-io.js';
import type { LiveControls } from '../core/contract/runner-commands.js';
import type { FlowRunState } from '../core/contract/flows.js';
import type { WorkspaceSummary } from '../core/contract/workspace.js';

/**
 * The contract between workflows, workers and the API: queue names, workflow ids and every
 * signal, update and query, each defined once.
 */

/** Workflows and control activities run here. */
export const CONTROL_TASK_QUEUE = 'ao.control';
/**
 * Runner workflows run here, on a worker of their own in the control process: a run's pick (a local
 * activity, which holds its workflow task's slot while it runs) waits on a runner workflow's update
 * or query, so the two must never compete for the same slots. (Runner workflows started before this
 * queue existed move to it at their next continue-as-new.)
 */
export const FLEET_TASK_QUEUE = 'ao.fleet';
/** Each runner polls its own queue; executor activities are routed to the runner that was picked. */
export const runnerTaskQueue = (runnerId: string): string => `ao.runner.${runnerId}`;

export const runWorkflowId = (runId: string): string => `run-${runId}`;
export const runIdFromWorkflowId = (workflowId: string): string => workflowId.replace(/^run-/, '');
export const runnerWorkflowId = (runnerId: string): string => `runner-${runnerId}`;

/** One event of a run, notified once: the id comes from the run and the event (`ended`, or `approval-<id>`). */
export const notifyWorkflowId = (runId: string, event: string): string => `notify-${runId}-${event}`;
/** A delivery's id (its `X-Ao-Delivery` header): the event's workflow and the notification, the same on every attempt. */
export const deliveryId = (notifyWorkflowId: string, notification: string): string => `${notifyWorkflowId}.${notification}`;
/** The memo field where a notify workflow keeps its deliveries, for the API to list. */
export const DELIVERIES_MEMO = 'deliveries';

export const RUN_WORKFLOW_TYPE = 'runWorkflow';
export const NOTIFY_WORKFLOW_TYPE = 'notifyWorkflow';
export const RUNNER_WORKFLOW_TYPE = 'runnerWorkflow';
export const CONCURRENCY_WORKFLOW_TYPE = 'concurrencyWorkflow';
/** What a schedule starts: a small launcher that starts the run with an id of its own (workflows/scheduled-run.ts). */
export const SCHEDULED_RUN_WORKFLOW_TYPE = 'scheduledRunWorkflow';

// ── schedules ───────────────────────────────────────────────────────────────
/** The Temporal Schedule of an ao schedule. */
export const scheduleId = (name: string): string => `ao-schedule-${name}`;
export const scheduleNameFromId = (id: string): string => id.replace(/^ao-schedule-/, '');
/** The launcher's workflow id as given to the schedule; Temporal appends `-<RFC 3339 time>` to each start. */
export const scheduleWorkflowId = (name: string): string => `schedule-${name}`;
/**
 * The run a scheduled start becomes: `<schedule>-<time, letters and digits only>`, e.g.
 * `nightly-20261201T030000Z`, from the launcher's own id, so each start has its own valid run id
 * (and branch) and the id is known from the schedule's recent actions alone.
 */
export function scheduledRunId(name: string, launcherWorkflowId: string): string {
  const prefix = `${scheduleWorkflowId(name)}-`;
  const time = launcherWorkflowId.startsWith(prefix) ? launcherWorkflowId.slice(prefix.length) : launcherWorkflowId;
  return `${name}-${time.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 64);
}
/** What started a run, in its `AoOrigin` search attribute: `schedule:<name>` or `trigger:<name>`. */
export const scheduleOrigin = (name: string): string => `schedule:${name}`;
export const triggerOrigin = (name: string): string => `trigger:${name}`;

// ── run workflow ────────────────────────────────────────────────────────────
export const runStateQuery = defineQuery<RunState>('runState');
/** Sent by the runner the moment the executor process is spawned (fire-and-forget). */
export const executorStartedSignal = defineSignal<[{ pid: number; started_at: string; attempt: number; resumed_session?: string; controls?: LiveControls }]>(
  'executorStarted',
);
/**
 * Sent by the runner before it reports that an execution failed or was stopped (so it is in the
 * history first): the workspace it left and its result so far (usage, cost, last output).
 */
export const executionAftermathSignal = defineSignal<[{ workspace?: WorkspaceSummary; result: Record<string, unknown> }]>('executionAftermath');
/** Sent by the runner as soon as the executor reports its own session id, so the run shows it while running. */
export const executorSessionSignal = defineSignal<[{ session_id: string }]>('executorSession');
/**
 * An update, because the caller must learn whether the stop was accepted: a validator refuses a
 * second stop and a stop of a finished run before anything is written to history.
 */
export const stopRunUpdate = defineUpdate<{ status: 'stopping' | 'stopped' }, [{ reason?: string; by?: string; graceful?: boolean }]>('stopRun');
/** Failure types of a refused stop. */
export const RUN_ALREADY_ENDED = 'RUN_ALREADY_ENDED';
export const RUN_ALREADY_STOPPING = 'RUN_ALREADY_STOPPING';

/** Sent by the runner when the executor asks about a tool use that ao's policy leaves to a person (fire-and-forget). */
export const approvalRequestedSignal = defineSignal<[ApprovalRequest]>('approvalRequested');
/** Sent by the runner when the executor withdraws a question (an interrupt, the process ended). */
export const approvalWithdrawnSignal = defineSignal<[{ approval_id: string; reason: string }]>('approvalWithdrawn');
/**
 * An update, because the caller must learn whether the decision was taken: a validator refuses a
 * decision for an approval that is not pending or has expired before anything is written to history.
 * It answers once the runner has passed the decision to the executor.
 */
export const decideApprovalUpdate = defineUpdate<Approval, [DecideApprovalRequest & { approval_id: string; by: string }]>('decideApproval');

/**
 * Live control of a running run, each an update answered once the runner passed the command to
 * the executor (or refused with `RUN_NOT_LIVE` / `COMMAND_REFUSED` and the reason).
 */
export const sendInputUpdate = defineUpdate<{ delivered: boolean; queued: boolean }, [{ text: string; by: string }]>('sendInput');
export const interruptRunUpdate = defineUpdate<{ status: RunState['status'] }, [{ by: string }]>('interruptRun');
export const pauseRunUpdate = defineUpdate<{ status: RunState['status'] }, [{ by: string }]>('pauseRun');
export const resumeRunUpdate = defineUpdate<{ status: RunState['status'] }, [{ by: string }]>('resumeRun');

// ── child runs ──────────────────────────────────────────────────────────────
/** How deep and how wide a tree of runs may grow (the API's `AO_MAX_CHILD_DEPTH` / `AO_MAX_CHILDREN_PER_RUN`). */
export interface ChildLimits {
  max_depth: number;
  max_children: number;
}
export interface StartChildRequest {
  /** The child's input as the API built it; the parent's workflow sets its `parent` link. */
  input: RunInput;
  detached: boolean;
  limits: ChildLimits;
  /** The child's one-line summary and details in the Temporal UI. */
  summary: string;
  details: string;
}
/**
 * An update, because the caller must learn the child's id only once it started: the validator refuses
 * a child past the depth or children limit (`CHILD_LIMIT`) or of a parent that ended or is stopping
 * (`PARENT_NOT_LIVE`) before anything is written; the handler starts the child workflow.
 */
export const startChildUpdate = defineUpdate<{ run_id: string }, [StartChildRequest]>('startChild');
export const CHILD_LIMIT = 'CHILD_LIMIT';
export const PARENT_NOT_LIVE = 'PARENT_NOT_LIVE';
/**
 * Sent by a parent to an attached child as the parent ends: the child stops as a stop request would
 * stop it (its processes reaped). A signal, because a workflow cannot send an update.
 */
export const stopByParentSignal = defineSignal<[{ reason: string; by?: string }]>('stopByParent');

/** Failure type of an execute activity ended by its runner's shutdown: the run goes to another runner. */
export const RUNNER_SHUTDOWN = 'RUNNER_SHUTDOWN';

// ── runner workflow (registry entry and mailbox of one runner) ─────────────
/** The runner's presence activity: its heartbeats are the runner's liveness (read from the workflow's description). */
export const PRESENCE_ACTIVITY = 'holdPresence' satisfies keyof RunnerActivities;

export type { RunnerState };

type RunnerActivities = ReturnType<typeof createRunnerActivities>;

/** What a runner should have: script name → version. Absent names should not be installed. */
export type WantedScripts = Record<string, string>;

/** Fire-and-forget: a runner process announces itself (also used to start the workflow). */
export const registerRunnerSignal = defineSignal<[RunnerRegistration]>('registerRunner');
/** A draining runner takes no new runs. */
export const drainRunnerSignal = defineSignal<[{ instance_id: string }]>('drainRunner');
/** A runner that shut down cleanly leaves the fleet. */
export const deregisterRunnerSignal = defineSignal<[{ instance_id: string }]>('deregisterRunner');
/** The runner's health_check hook result; an unhealthy runner takes no runs. */
export const setRunnerHealthSignal = defineSignal<[{ instance_id: string; healthy: boolean; reason?: string }]>('setRunnerHealth');
/** A run gives its slot back, whatever way it ended. */
export const releaseSlotSignal = defineSignal<[{ run_id: string }]>('releaseSlot');
/**
 * An update, because the run must know whether it got the slot; capacity is never exceeded. With
 * `queue`, a run refused for lack of room joins the runner's queue (higher `priority` first, then
 * first come, first served) and is granted the next slot that frees (`slotGrantedSignal`). With
 * `script`, the runner also checks that the script is installed at that version. The reply carries
 * the runner's state, which keeps the control worker's fleet view current.
 */
export const reserveSlotUpdate = defineUpdate<ReserveSlotReply, [ReserveSlotRequest]>('reserveSlot');
export interface ReserveSlotRequest {
  run_id: string;
  workflow_id: string;
  queue?: boolean;
  priority?: number;
  script?: { name: string; version: string };
}
export interface ReserveSlotReply {
  accepted: boolean;
  reason?: string;
  /** Set when the run joined the runner's queue. */
  queued?: boolean;
  /** The runner's state after the reservation, and how many runs wait in its queue. */
  state?: RunnerState;
  queue_length?: number;
}
/**
 * Sent by a runner to the first run of its queue when a slot frees: the slot is already reserved
 * for that run. A run that no longer needs it gives it back (`releaseSlotSignal`).
 */
export const slotGrantedSignal = defineSignal<[{ runner: RunnerSummary }]>('slotGranted');
/**
 * An update, because the admin must learn whether the runner was forgotten: the validator refuses
 * a runner that is not offline or still holds runs. A forgotten runner's workflow ends; the
 * runner registers afresh (a new workflow) if it comes back.
 */
export const forgetRunnerUpdate = defineUpdate<{ forgotten: true }, [{ by: string }]>('forgetRunner');
/** Failure type of a refused forget. */
export const RUNNER_NOT_FORGETTABLE = 'RUNNER_NOT_FORGETTABLE';
/** Sent to runs that were refused for lack of room when a slot frees up, so they try again at once (runner histories before slot grants). */
export const runnerAvailableSignal = defineSignal('runnerAvailable');
export const runnerStateQuery = defineQuery<RunnerState>('runnerState');
/** A script was created or changed: install this version. */
export const syncScriptsSignal = defineSignal<[{ scripts: Array<{ name: string; version: string }> }]>('syncScripts');
/** A script was deleted: remove it. */
export const removeScriptsSignal = defineSignal<[{ names: string[] }]>('removeScripts');

// ── concurrency keys (one semaphore workflow per key, workflows/concurrency.ts) ─
/** The semaphore of one concurrency key: it exists while runs hold or wait for the key's permits. */
export const concurrencyWorkflowId = (key: string): string => `concurrency-${key}`;
/** A run asks for a permit of the key (also starts the key's workflow): granted by `permitGrantedSignal`. */
export interface PermitRequest {
  run_id: string;
  workflow_id: string;
  /** The run's own limit for the key: it is admitted while fewer than this many hold a permit. */
  limit: number;
  /** Higher is admitted first; equal priorities first come, first served. */
  priority: number;
}
/** Fire-and-forget: the run learns of its permit from the grant, whenever it comes; asking twice is asking once. */
export const requestPermitSignal = defineSignal<[PermitRequest]>('requestPermit');
/** A run gives back its permit, or its place in line, whatever way it ended. */
export const releasePermitSignal = defineSignal<[{ run_id: string }]>('releasePermit');
/** Sent by a key's workflow to a run: the permit is held for it until it releases it. */
export const permitGrantedSignal = defineSignal<[{ key: string }]>('permitGranted');
/** Who holds the key's permits and who waits, in the order they will be admitted. */
export interface ConcurrencyState {
  key: string;
  holders: string[];
  waiting: Array<{ run_id: string; priority: number; limit: number }>;
}
export const concurrencyStateQuery = defineQuery<ConcurrencyState>('concurrencyState');
// ── flow workflow (builder–reviewer flows, workflows/flow.ts) ──────────────
export const FLOW_WORKFLOW_TYPE = 'flowWorkflow';
export const flowWorkflowId = (flowRunId: string): string => `flow-${flowRunId}`;
export const flowRunIdFromWorkflowId = (workflowId: string): string => workflowId.replace(/^flow-/, '');
export const flowStateQuery = defineQuery<FlowRunState>('flowState');
/** An update, because the caller must learn whether the stop was accepted; it stops the step that runs. */
export const stopFlowUpdate = defineUpdate<{ status: 'stopping' }, [{ reason?: string; by?: string }]>('stopFlow');
/** Failure type of a refused flow stop. */
export const FLOW_NOT_STOPPABLE = 'FLOW_NOT_STOPPABLE';
/** Failure type of a flow that could not finish: a step failed, or a reviewer did not answer with a verdict. */
export const FLOW_FAILED = 'FLOW_FAILED';

import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { loadAgent } from '../core/config/agents.js';
import { ConcurrencyKeyError, resolveConcurrency } from '../core/contract/concurrency.js';
import { APPROVAL_NOT_FOUND, APPROVAL_NOT_PENDING, type Approval, type DecideApprovalRequest } from '../core/contract/approvals.js';
import { AgentInactiveError, ApprovalRefusedError, PullRequestNotConfiguredError, ChildRunRefusedError, RunAlreadyExistsError, RunCommandRefusedError, RunNotFoundError, RunStopRefusedError, SessionNotFoundError } from '../core/contract/errors.js';
import { RUN_NOT_LIVE, type SendInputResponse } from '../core/contract/runner-commands.js';
import { isFinalRunStatus, isRunStatus, type RunStatus } from '../core/contract/run-status.js';
import { listExecutionsPage } from '../core/temporal/list-page.js';
import { readRunState } from '../core/temporal/run-state.js';
import { runDetails, runSummary } from '../core/temporal/summaries.js';
import { checkRunParameters } from '../core/config/run-parameters.js';
import type { CreateRunRequest, RunSummary, RunView } from '../core/contract/http.js';
import type { ChildRun, RunInput, RunState } from '../core/contract/workflow-io.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import {
  CONTROL_TASK_QUEUE,
  PARENT_NOT_LIVE,
  RUN_ALREADY_ENDED,
  RUN_WORKFLOW_TYPE,
  decideApprovalUpdate,
  interruptRunUpdate,
  pauseRunUpdate,
  resumeRunUpdate,
  runIdFromWorkflowId,
  runWorkflowId,
  sendInputUpdate,
  startChildUpdate,
  stopRunUpdate,
  type ChildLimits,
} from '../workflows/messages.js';
import type { ApiMetrics } from '../core/observability/metrics.js';

export interface RunsServiceOptions {
  client: Client;
  configDir: string;
  namespace: string;
  temporalUiUrl: string;
  noRunnerTimeoutSeconds?: number;
  dispatchTimeoutSeconds?: number;
  /** Counts each run started, by agent. */
  metrics?: Pick<ApiMetrics, 'runsStarted'>;
  /** How deep and wide trees of child runs may grow. @defaultValue `DEFAULT_CHILD_LIMITS` */
  childLimits?: ChildLimits;
}

/** `AO_MAX_CHILD_DEPTH` / `AO_MAX_CHILDREN_PER_RUN` unset: enough for a foreman and its workers, not for a runaway recursion. */
export const DEFAULT_CHILD_LIMITS: ChildLimits = { max_depth: 3, max_children: 10 };

export type { RunSummary } from '../core/contract/http.js';

export interface RunFilter {
  status?: RunStatus;
  agent?: string;
  runner?: string;
  session?: string;
  tag?: string;
  /** What started the runs: `schedule:<name>` or `trigger:<name>`. */
  origin?: string;
  /** Where the page starts: the `next_cursor` of the previous page. */
  cursor?: string;
  limit: number;
}

/** How often a bounded wait reads the run: it holds no Temporal long-poll open past its deadline. */
const WAIT_POLL_MS = 500;

/** Starts, stops and reads runs. Temporal is the store: no run state is kept here. */
export class RunsService {
  constructor(private readonly options: RunsServiceOptions) {}

  /** The run's history in the Temporal UI: this execution's own page, not whichever run of the id is newest. */
  temporalUiUrl(workflowId: string, runId: string): string {
    const { temporalUiUrl, namespace } = this.options;
    return `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
  }

  /** Checks that the agent can run these parameters (404, 409, 400, 422 as `POST /runs` answers). */
  async checkRunnable(agentName: string, parameters: Record<string, unknown>): Promise<void> {
    const agent = await loadAgent(this.options.configDir, agentName);
    if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
    await checkRunParameters(this.options.configDir, agent, parameters);
  }

  /** What the API passes to every run it starts, besides the request (timeouts from its env). */
  get runDefaults(): Pick<RunInput, 'no_runner_timeout_seconds' | 'dispatch_timeout_seconds'> {
    return {
      ...(this.options.noRunnerTimeoutSeconds ? { no_runner_timeout_seconds: this.options.noRunnerTimeoutSeconds } : {}),
      ...(this.options.dispatchTimeoutSeconds ? { dispatch_timeout_seconds: this.options.dispatchTimeoutSeconds } : {}),
    };
  }

  /**
   * Starts a run. `runId` (a trigger's, derived from its delivery id) makes the start idempotent:
   * a run of that id that exists already is a `RunAlreadyExistsError` and nothing new starts.
   */
  async create(request: CreateRunRequest, by: string, start: { runId?: string; origin?: string } = {}): Promise<{ id: string }> {
    const agent = await loadAgent(this.options.configDir, request.agent);
    if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
    const script = await checkRunParameters(this.options.configDir, agent, request.parameters);
    const id = start.runId ?? crypto.randomUUID();
    const sessionId = request.session_id ?? id;
    // A key the run could not fill in is refused now (400), not when the run is resolved. A resumed
    // session's project comes from the runner that holds it, known only then.
    const project = request.additional_demands?.project_dir ?? script?.demands.project_dir ?? agent.demands.project_dir;
    try {
      resolveConcurrency([agent.concurrency, request.concurrency], { agent: agent.name, session: sessionId, ...(project ? { project } : {}) });
    } catch (error) {
      if (!(error instanceof ConcurrencyKeyError && error.placeholder === 'project' && request.mode === 'resume')) throw error;
    }
    // The agent's forge command as it is now: a later edit of the agent does not change a run under way.
    if (request.pull_request === true && !agent.pull_request) throw new PullRequestNotConfiguredError(agent.name);
    const pullRequest = request.pull_request === false ? undefined : agent.pull_request;
    const mode = request.mode ?? 'new';
    if (mode === 'resume' && (await this.sessionRuns(sessionId, 1)).length === 0) {
      throw new SessionNotFoundError(sessionId);
    }
    const input: RunInput = {
      run_id: id,
      agent: agent.name,
      parameters: request.parameters,
      session_id: sessionId,
      session_mode: mode,
      created_by: by,
      created_at: new Date().toISOString(),
      ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
      ...(request.additional_demands ? { additional_demands: request.additional_demands } : {}),
      ...(request.timeout_seconds ? { timeout_seconds: request.timeout_seconds } : {}),
      ...(request.base_ref ? { base_ref: request.base_ref } : {}),
      ...(request.policy ? { policy: request.policy } : {}),
      ...(request.budget ? { budget: request.budget } : {}),
      ...(request.priority !== undefined ? { priority: request.priority } : {}),
      ...(request.queue_timeout_seconds ? { queue_timeout_seconds: request.queue_timeout_seconds } : {}),
      ...(request.concurrency ? { concurrency: request.concurrency } : {}),
      ...(pullRequest ? { pull_request: pullRequest } : {}),
      ...this.runDefaults,
    };
    if (request.parent_run_id) {
      await this.startChild(request.parent_run_id, input, request.detached === true);
      this.options.metrics?.runsStarted.inc({ agent: agent.name });
      return { id };
    }
    try {
      await this.options.client.workflow.start(RUN_WORKFLOW_TYPE, {
        workflowId: runWorkflowId(id),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [input],
        // A given id (a trigger's delivery) starts once, ever: a closed run of that id still refuses it.
        ...(start.runId ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
        typedSearchAttributes: [
          { key: searchAttributes.agent, value: agent.name },
          { key: searchAttributes.runStatus, value: 'pending' },
          { key: searchAttributes.sessionId, value: sessionId },
          ...(start.origin ? [{ key: searchAttributes.origin, value: start.origin }] : []),
        ],
        staticSummary: runSummary(input),
        staticDetails: runDetails(input),
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new RunAlreadyExistsError(id);
      throw error;
    }
    this.options.metrics?.runsStarted.inc({ agent: agent.name });
    return { id };
  }

  /**
   * Starts a child run: the parent's workflow starts it as its own child workflow (update
   * `startChild`), and answers once it started, or refuses (409, `CHILD_LIMIT` / `PARENT_NOT_LIVE`).
   */
  private async startChild(parentId: string, input: RunInput, detached: boolean): Promise<void> {
    const request = { input, detached, limits: this.options.childLimits ?? DEFAULT_CHILD_LIMITS, summary: runSummary(input), details: runDetails(input) };
    await this.runUpdate(
      parentId,
      () => this.handle(parentId).executeUpdate(startChildUpdate, { args: [request] }),
      (message, type) => new ChildRunRefusedError(parentId, message, type ?? PARENT_NOT_LIVE),
    );
  }

  /** The run's state: live from the workflow while it runs, from its result or failure once closed. */
  async get(id: string): Promise<RunView> {
    const workflowId = runWorkflowId(id);
    const handle = this.options.client.workflow.getHandle(workflowId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(id);
      throw error;
    }
    const state = await readRunState(this.options.client, workflowId, description.status.name === 'RUNNING');
    const origin = description.typedSearchAttributes.get(searchAttributes.origin);
    const known = state ?? this.closedOutsideAo(id, description);
    return {
      ...known,
      ...(known.children ? { children: await this.childrenNow(known.children) } : {}),
      id,
      workflow_id: workflowId,
      temporal_ui_url: this.temporalUiUrl(workflowId, description.runId),
      ...(origin ? { origin } : {}),
    };
  }

  /** A parent's children with each one's status now (the parent learns of a child's end only when it ends). */
  private childrenNow(children: ChildRun[]): Promise<ChildRun[]> {
    return Promise.all(
      children.map(async (child) => {
        if (isFinalRunStatus(child.status)) return child;
        const status = await this.handle(child.run_id)
          .describe()
          .then((description) => description.typedSearchAttributes.get(searchAttributes.runStatus), () => undefined);
        return isRunStatus(status) ? { ...child, status } : child;
      }),
    );
  }

  /** Waits for the run to end and returns its final view. */
  async waitForEnd(id: string): Promise<RunView> {
    await this.options.client.workflow
      .getHandle(runWorkflowId(id))
      .result()
      .catch(() => undefined);
    return this.get(id);
  }

  /** The run once it has ended, or as it is after `timeoutMs` (a bounded wait: MCP `wait_for_run`). */
  async waitForEndWithin(id: string, timeoutMs: number): Promise<RunView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.get(id);
      if (isFinalRunStatus(view.status) || Date.now() >= deadline) return view;
      await sleep(Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }

  /** Asks the run to stop; answers once the workflow accepted (or refused) the request. */
  stop(id: string, by: string, reason?: string, graceful?: boolean): Promise<{ status: 'stopping' | 'stopped' }> {
    const args = { by, ...(reason ? { reason } : {}), ...(graceful === false ? { graceful } : {}) };
    return this.runUpdate(id, () => this.handle(id).executeUpdate(stopRunUpdate, { args: [args] }), (message, type) => new RunStopRefusedError(id, message, type ?? RUN_ALREADY_ENDED));
  }

  /** A user message into the running session; answers once the runner passed it on (or holds it until the turn ends). */
  sendInput(id: string, text: string, by: string): Promise<SendInputResponse> {
    return this.liveCommand(id, () => this.handle(id).executeUpdate(sendInputUpdate, { args: [{ text, by }] }));
  }

  /** Interrupt, pause or resume the live run; answers with its status after the runner acted. */
  control(id: string, kind: 'interrupt' | 'pause' | 'resume', by: string): Promise<{ status: RunStatus }> {
    const update = { interrupt: interruptRunUpdate, pause: pauseRunUpdate, resume: resumeRunUpdate }[kind];
    return this.liveCommand(id, () => this.handle(id).executeUpdate(update, { args: [{ by }] }));
  }

  private handle(id: string) {
    return this.options.client.workflow.getHandle(runWorkflowId(id));
  }

  /** Runs a live-command update; the workflow's refusal (and a closed run) is `RunCommandRefusedError`, 409 with the reason. */
  private liveCommand<T>(id: string, send: () => Promise<T>): Promise<T> {
    return this.runUpdate(id, send, (message, type) => new RunCommandRefusedError(id, message, type ?? RUN_NOT_LIVE));
  }

  /**
   * Sends an update straight away (a stop's latency is what it is for), reading the run only when
   * the update fails: its validator's refusal, or no open workflow (an unknown run is 404, an ended one 409).
   */
  private async runUpdate<T>(id: string, send: () => Promise<T>, refused: (message: string, type: string | undefined) => Error): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) throw refused(error.cause.message, error.cause.type ?? undefined);
      const view = await this.get(id);
      if (isFinalRunStatus(view.status)) throw refused(`the run has already ended (${view.status})`, undefined);
      throw error;
    }
  }

  /** Decides a pending approval; answers once the run has passed the decision to its executor. */
  async decideApproval(id: string, approvalId: string, decision: DecideApprovalRequest, by: string): Promise<Approval> {
    const view = await this.get(id);
    const approval = view.approvals?.find((entry) => entry.id === approvalId);
    if (!approval) throw new ApprovalRefusedError(id, approvalId, `run ${id} has no approval ${approvalId}`, APPROVAL_NOT_FOUND);
    if (isFinalRunStatus(view.status)) throw new ApprovalRefusedError(id, approvalId, `the run has already ended (${view.status})`, APPROVAL_NOT_PENDING);
    try {
      return await this.options.client.workflow.getHandle(runWorkflowId(id)).executeUpdate(decideApprovalUpdate, { args: [{ ...decision, approval_id: approvalId, by }] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        throw new ApprovalRefusedError(id, approvalId, error.cause.message, error.cause.type ?? APPROVAL_NOT_PENDING);
      }
      if (error instanceof WorkflowNotFoundError) throw new ApprovalRefusedError(id, approvalId, 'the run has already ended', APPROVAL_NOT_PENDING);
      throw error;
    }
  }

  async list(filter: RunFilter): Promise<{ runs: RunSummary[]; next_cursor: string | undefined }> {
    const { allOf, attributeIs, workflowTypeIs } = visibility;
    const query = allOf(
      workflowTypeIs(RUN_WORKFLOW_TYPE),
      filter.status && attributeIs(searchAttributes.runStatus, filter.status),
      filter.agent && attributeIs(searchAttributes.agent, filter.agent),
      filter.runner && attributeIs(searchAttributes.runnerId, filter.runner),
      filter.session && attributeIs(searchAttributes.sessionId, filter.session),
      filter.tag && attributeIs(searchAttributes.tags, filter.tag),
      filter.origin && attributeIs(searchAttributes.origin, filter.origin),
    );
    const page = await listExecutionsPage(this.options.client, query, filter.limit, filter.cursor);
    return { runs: page.executions.map((execution) => this.summary(execution)), next_cursor: page.next_cursor };
  }

  async sessionRuns(sessionId: string, limit = 200): Promise<RunSummary[]> {
    return (await this.list({ session: sessionId, limit })).runs;
  }

  private summary(execution: WorkflowExecutionInfo): RunSummary {
    const attributes = execution.typedSearchAttributes;
    const status = attributes.get(searchAttributes.runStatus);
    return {
      id: runIdFromWorkflowId(execution.workflowId),
      agent: attributes.get(searchAttributes.agent),
      status: isRunStatus(status) ? status : undefined,
      runner_id: attributes.get(searchAttributes.runnerId),
      profile: attributes.get(searchAttributes.profile),
      session_id: attributes.get(searchAttributes.sessionId),
      tags: attributes.get(searchAttributes.tags) ?? [],
      started_at: execution.startTime.toISOString(),
      closed_at: execution.closeTime?.toISOString(),
      cost_usd: attributes.get(searchAttributes.costUsd),
      origin: attributes.get(searchAttributes.origin),
      temporal_ui_url: this.temporalUiUrl(execution.workflowId, execution.runId),
    };
  }

  /** For runs closed from outside ao (terminated in the Temporal UI, say): what visibility knows. */
  private closedOutsideAo(id: string, description: Pick<WorkflowExecutionInfo, 'status' | 'typedSearchAttributes' | 'closeTime' | 'startTime'>): RunState {
    const how = description.status.name.toLowerCase();
    return {
      run_id: id,
      agent: description.typedSearchAttributes.get(searchAttributes.agent) ?? 'unknown',
      session_id: description.typedSearchAttributes.get(searchAttributes.sessionId) ?? id,
      status: 'failed',
      parameters: {},
      history: [{ status: 'failed', at: (description.closeTime ?? description.startTime).toISOString(), reason: `workflow ${how}` }],
      created_at: description.startTime.toISOString(),
      error: { type: 'WORKFLOW_CLOSED', message: `the run's workflow was ${how} outside ao` },
    };
  }
}

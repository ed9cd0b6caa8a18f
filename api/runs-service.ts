import crypto from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { loadAgent } from '../core/config/agents.js';
import { APPROVAL_NOT_FOUND, APPROVAL_NOT_PENDING, type Approval, type DecideApprovalRequest } from '../core/contract/approvals.js';
import { AgentInactiveError, ApprovalRefusedError, RunNotFoundError, RunStopRefusedError, SessionNotFoundError } from '../core/contract/errors.js';
import { RUN_STATUSES, isFinalRunStatus, type RunStatus } from '../core/contract/run-status.js';
import { listExecutionsPage } from '../core/temporal/list-page.js';
import { readRunState } from '../core/temporal/run-state.js';
import { runDetails, runSummary } from '../core/temporal/summaries.js';
import { checkRunParameters } from '../core/config/run-parameters.js';
import type { CreateRunRequest, RunSummary, RunView } from '../core/contract/http.js';
import type { RunInput, RunState } from '../core/contract/workflow-io.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import {
  CONTROL_TASK_QUEUE,
  RUN_ALREADY_ENDED,
  RUN_WORKFLOW_TYPE,
  decideApprovalUpdate,
  runIdFromWorkflowId,
  runWorkflowId,
  stopRunUpdate,
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
}

export type { RunSummary } from '../core/contract/http.js';

export interface RunFilter {
  status?: RunStatus;
  agent?: string;
  runner?: string;
  session?: string;
  tag?: string;
  /** Where the page starts: the `next_cursor` of the previous page. */
  cursor?: string;
  limit: number;
}

const isRunStatus = (value: unknown): value is RunStatus => typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value);

/** Starts, stops and reads runs. Temporal is the store: no run state is kept here. */
export class RunsService {
  constructor(private readonly options: RunsServiceOptions) {}

  /** The run's history in the Temporal UI: this execution's own page, not whichever run of the id is newest. */
  temporalUiUrl(workflowId: string, runId: string): string {
    const { temporalUiUrl, namespace } = this.options;
    return `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
  }

  async create(request: CreateRunRequest, by: string): Promise<{ id: string }> {
    const agent = await loadAgent(this.options.configDir, request.agent);
    if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
    await checkRunParameters(this.options.configDir, agent, request.parameters);
    const id = crypto.randomUUID();
    const sessionId = request.session_id ?? id;
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
      ...(request.priority !== undefined ? { priority: request.priority } : {}),
      ...(request.queue_timeout_seconds ? { queue_timeout_seconds: request.queue_timeout_seconds } : {}),
      ...(this.options.noRunnerTimeoutSeconds ? { no_runner_timeout_seconds: this.options.noRunnerTimeoutSeconds } : {}),
      ...(this.options.dispatchTimeoutSeconds ? { dispatch_timeout_seconds: this.options.dispatchTimeoutSeconds } : {}),
    };
    await this.options.client.workflow.start(RUN_WORKFLOW_TYPE, {
      workflowId: runWorkflowId(id),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        { key: searchAttributes.agent, value: agent.name },
        { key: searchAttributes.runStatus, value: 'pending' },
        { key: searchAttributes.sessionId, value: sessionId },
      ],
      staticSummary: runSummary(input),
      staticDetails: runDetails(input),
    });
    this.options.metrics?.runsStarted.inc({ agent: agent.name });
    return { id };
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
    return { ...(state ?? this.closedOutsideAo(id, description)), id, workflow_id: workflowId, temporal_ui_url: this.temporalUiUrl(workflowId, description.runId) };
  }

  /** Waits for the run to end and returns its final view. */
  async waitForEnd(id: string): Promise<RunView> {
    await this.options.client.workflow
      .getHandle(runWorkflowId(id))
      .result()
      .catch(() => undefined);
    return this.get(id);
  }

  /** Asks the run to stop; answers once the workflow accepted (or refused) the request. */
  async stop(id: string, by: string, reason?: string): Promise<{ status: 'stopping' | 'stopped' }> {
    const view = await this.get(id);
    if (isFinalRunStatus(view.status)) throw new RunStopRefusedError(id, `the run has already ended (${view.status})`, RUN_ALREADY_ENDED);
    try {
      return await this.options.client.workflow.getHandle(runWorkflowId(id)).executeUpdate(stopRunUpdate, { args: [{ by, ...(reason ? { reason } : {}) }] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        throw new RunStopRefusedError(id, error.cause.message, error.cause.type ?? RUN_ALREADY_ENDED);
      }
      if (error instanceof WorkflowNotFoundError) throw new RunStopRefusedError(id, 'the run has already ended', RUN_ALREADY_ENDED);
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

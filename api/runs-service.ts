import crypto from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { loadAgent } from '../core/agents.js';
import { AgentInactiveError, ParametersInvalidError, RunNotFoundError } from '../core/errors.js';
import { jsonSchemaProblems } from '../core/json-schema.js';
import { RUN_STATUSES, type RunStatus } from '../core/run-status.js';
import type { CreateRunRequest, RunInput, RunState, RunView } from '../core/schemas.js';
import { searchAttributes } from '../core/search-attributes.js';
import { CONTROL_TASK_QUEUE, RUN_WORKFLOW_TYPE, runIdFromWorkflowId, runStateQuery, runWorkflowId } from '../workflows/messages.js';

export interface RunsServiceOptions {
  client: Client;
  configDir: string;
  namespace: string;
  temporalUiUrl: string;
  noRunnerTimeoutSeconds?: number;
  dispatchTimeoutSeconds?: number;
}

export interface RunSummary {
  id: string;
  agent: string | undefined;
  status: RunStatus | undefined;
  runner_id: string | undefined;
  tags: string[];
  started_at: string | undefined;
  closed_at: string | undefined;
  temporal_ui_url: string;
}

const isRunStatus = (value: unknown): value is RunStatus => typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value);

/** Starts and reads runs. Temporal is the store: no run state is kept here. */
export class RunsService {
  constructor(private readonly options: RunsServiceOptions) {}

  temporalUiUrl(workflowId: string): string {
    const { temporalUiUrl, namespace } = this.options;
    return `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  async create(request: CreateRunRequest): Promise<{ id: string; handle: WorkflowHandle }> {
    const agent = await loadAgent(this.options.configDir, request.agent);
    if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
    if (agent.parameters_schema) {
      const problems = jsonSchemaProblems(agent.parameters_schema, request.parameters);
      if (problems.length) throw new ParametersInvalidError(problems, agent.parameters_schema);
    }
    const id = crypto.randomUUID();
    const input: RunInput = {
      run_id: id,
      agent: agent.name,
      parameters: request.parameters,
      created_at: new Date().toISOString(),
      ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
      ...(request.additional_demands ? { additional_demands: request.additional_demands } : {}),
      ...(request.timeout_seconds ? { timeout_seconds: request.timeout_seconds } : {}),
      ...(this.options.noRunnerTimeoutSeconds ? { no_runner_timeout_seconds: this.options.noRunnerTimeoutSeconds } : {}),
      ...(this.options.dispatchTimeoutSeconds ? { dispatch_timeout_seconds: this.options.dispatchTimeoutSeconds } : {}),
    };
    const handle = await this.options.client.workflow.start(RUN_WORKFLOW_TYPE, {
      workflowId: runWorkflowId(id),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        { key: searchAttributes.agent, value: agent.name },
        { key: searchAttributes.runStatus, value: 'pending' },
      ],
      staticSummary: `${agent.name} run ${id}`,
    });
    return { id, handle };
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
    const state = description.status.name === 'RUNNING' ? await handle.query(runStateQuery) : await this.finalState(handle);
    return { ...(state ?? this.stateFromVisibility(id, description)), id, workflow_id: workflowId, temporal_ui_url: this.temporalUiUrl(workflowId) };
  }

  /** Waits for the run to end and returns its final view. */
  async waitForEnd(id: string): Promise<RunView> {
    await this.finalState(this.options.client.workflow.getHandle(runWorkflowId(id)));
    return this.get(id);
  }

  private async finalState(handle: WorkflowHandle): Promise<RunState | undefined> {
    try {
      return (await handle.result()) as RunState;
    } catch (error) {
      if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
        return error.cause.details?.[0] as RunState | undefined;
      }
      return undefined;
    }
  }

  /** For runs closed from outside ao (terminated in the Temporal UI, say): what visibility knows. */
  private stateFromVisibility(id: string, description: Awaited<ReturnType<WorkflowHandle['describe']>>): RunState {
    const status = description.typedSearchAttributes.get(searchAttributes.runStatus);
    const closedStatus: RunStatus = description.status.name === 'COMPLETED' ? 'completed' : 'failed';
    const finalStatus = description.status.name === 'RUNNING' && isRunStatus(status) ? status : closedStatus;
    return {
      run_id: id,
      agent: description.typedSearchAttributes.get(searchAttributes.agent) ?? 'unknown',
      status: finalStatus,
      parameters: {},
      history: [{ status: finalStatus, at: (description.closeTime ?? description.startTime).toISOString(), reason: `workflow ${description.status.name.toLowerCase()}` }],
      created_at: description.startTime.toISOString(),
      ...(finalStatus === 'failed' ? { error: { type: 'WORKFLOW_CLOSED', message: `the run's workflow was ${description.status.name.toLowerCase()} outside ao` } } : {}),
    };
  }

  async list(filter: { status?: RunStatus; agent?: string; limit: number }): Promise<RunSummary[]> {
    const clauses = [`WorkflowType='${RUN_WORKFLOW_TYPE}'`];
    // Filter values are validated enums and names, so they cannot break out of the quotes.
    if (filter.status) clauses.push(`AoRunStatus='${filter.status}'`);
    if (filter.agent) clauses.push(`AoAgent='${filter.agent}'`);
    const runs: RunSummary[] = [];
    for await (const execution of this.options.client.workflow.list({ query: clauses.join(' AND '), pageSize: filter.limit })) {
      const attributes = execution.typedSearchAttributes;
      const status = attributes.get(searchAttributes.runStatus);
      runs.push({
        id: runIdFromWorkflowId(execution.workflowId),
        agent: attributes.get(searchAttributes.agent),
        status: isRunStatus(status) ? status : undefined,
        runner_id: attributes.get(searchAttributes.runnerId),
        tags: attributes.get(searchAttributes.tags) ?? [],
        started_at: execution.startTime.toISOString(),
        closed_at: execution.closeTime?.toISOString(),
        temporal_ui_url: this.temporalUiUrl(execution.workflowId),
      });
      if (runs.length >= filter.limit) break;
    }
    return runs;
  }
}

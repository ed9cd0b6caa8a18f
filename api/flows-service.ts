import crypto from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { deleteFlow, listFlows, loadFlow, saveFlow, type FlowListing } from '../core/config/flows.js';
import { loadAgent } from '../core/config/agents.js';
import { AgentInactiveError, FlowRunNotFoundError, FlowStopRefusedError, InvalidConfigFileError } from '../core/contract/errors.js';
import { type Flow, type FlowInput, type FlowRunState, type FlowRunSummary, type FlowRunView, type Review, type StartFlowRunRequest } from '../core/contract/flows.js';
import { jsonSchemaProblems } from '../core/contract/json-schema.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { listExecutionsPage } from '../core/temporal/list-page.js';
import { CONTROL_TASK_QUEUE, FLOW_WORKFLOW_TYPE, flowRunIdFromWorkflowId, flowStateQuery, flowWorkflowId, stopFlowUpdate } from '../workflows/messages.js';
import type { ConfigLock } from './config-lock.js';

export interface FlowsServiceOptions {
  client: Client;
  configDir: string;
  lock: ConfigLock;
  /** The Temporal UI page of a workflow execution. */
  temporalUiUrl: (workflowId: string, runId: string) => string;
}

/** Answers a reviewer's output schema must take: they stand for "the schema asks for { verdict, comments }" (both are reviews). */
const SAMPLE_REVIEWS: Review[] = [{ verdict: 'approve', comments: [] }, { verdict: 'request_changes', comments: ['one thing'] }];

/** Flows: definitions as files under the config dir, and their runs as `flowWorkflow` executions. */
export class FlowsService {
  constructor(private readonly options: FlowsServiceOptions) {}

  list(): Promise<FlowListing[]> {
    return listFlows(this.options.configDir);
  }

  get(name: string): Promise<Flow> {
    return loadFlow(this.options.configDir, name);
  }

  /** Creates or replaces a flow; its agents must exist, and the reviewer's must answer with a review. */
  put(flow: Flow): Promise<{ flow: Flow; created: boolean }> {
    return this.options.lock.run(async () => {
      await this.checkAgents(flow);
      const created = await loadFlow(this.options.configDir, flow.name).then(
        () => false,
        () => true,
      );
      return { flow: await saveFlow(this.options.configDir, flow), created };
    });
  }

  delete(name: string): Promise<void> {
    return this.options.lock.run(() => deleteFlow(this.options.configDir, name));
  }

  /** Starts a run of the flow: one `flowWorkflow`, whose steps are child runs. */
  async start(name: string, request: StartFlowRunRequest, by: string): Promise<{ id: string }> {
    const flow = await loadFlow(this.options.configDir, name);
    await this.checkAgents(flow);
    const id = crypto.randomUUID();
    const demands = { ...request.additional_demands, ...(request.project ? { project_dir: request.project } : {}) };
    const input: FlowInput = {
      flow_run_id: id,
      flow,
      prompt: request.prompt,
      ...(request.base_ref ? { base_ref: request.base_ref } : {}),
      ...(Object.keys(demands).length ? { additional_demands: demands } : {}),
      open_pull_request: request.pull_request ?? flow.pull_request !== undefined,
      created_at: new Date().toISOString(),
      created_by: by,
    };
    await this.options.client.workflow.start(FLOW_WORKFLOW_TYPE, {
      workflowId: flowWorkflowId(id),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        // The flow's name in the agent attribute: flow runs are told apart from runs by their workflow type.
        { key: searchAttributes.agent, value: flow.name },
        { key: searchAttributes.runStatus, value: 'running' },
      ],
      staticSummary: `flow ${flow.name}: ${request.prompt.trim().split('\n', 1)[0]!.slice(0, 80)}`,
    });
    return { id };
  }

  async getRun(id: string): Promise<FlowRunView> {
    const workflowId = flowWorkflowId(id);
    const handle = this.options.client.workflow.getHandle(workflowId);
    const description = await handle.describe().catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw new FlowRunNotFoundError(id);
      throw error;
    });
    if (description.type !== FLOW_WORKFLOW_TYPE) throw new FlowRunNotFoundError(id);
    const state = await this.readState(workflowId, description.status.name === 'RUNNING');
    if (!state) throw new FlowRunNotFoundError(id);
    return { ...state, id, workflow_id: workflowId, temporal_ui_url: this.options.temporalUiUrl(workflowId, description.runId) };
  }

  async waitForEnd(id: string): Promise<FlowRunView> {
    await this.options.client.workflow
      .getHandle(flowWorkflowId(id))
      .result()
      .catch(() => undefined);
    return this.getRun(id);
  }

  async listRuns(filter: { flow?: string; limit: number }): Promise<FlowRunSummary[]> {
    const { allOf, attributeIs, workflowTypeIs } = visibility;
    const query = allOf(workflowTypeIs(FLOW_WORKFLOW_TYPE), filter.flow && attributeIs(searchAttributes.agent, filter.flow));
    const page = await listExecutionsPage(this.options.client, query, filter.limit);
    return page.executions.map((execution) => ({
      id: flowRunIdFromWorkflowId(execution.workflowId),
      ...(execution.typedSearchAttributes.get(searchAttributes.agent) ? { flow: execution.typedSearchAttributes.get(searchAttributes.agent)! } : {}),
      status: execution.typedSearchAttributes.get(searchAttributes.runStatus) ?? execution.status.name.toLowerCase(),
      started_at: execution.startTime.toISOString(),
      ...(execution.closeTime ? { closed_at: execution.closeTime.toISOString() } : {}),
      temporal_ui_url: this.options.temporalUiUrl(execution.workflowId, execution.runId),
    }));
  }

  /** Stops the flow run and the step it runs; answers once the workflow accepted the stop. */
  async stop(id: string, by: string, reason?: string): Promise<{ status: 'stopping' }> {
    await this.getRun(id);
    try {
      return await this.options.client.workflow.getHandle(flowWorkflowId(id)).executeUpdate(stopFlowUpdate, { args: [{ by, ...(reason ? { reason } : {}) }] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) throw new FlowStopRefusedError(id, error.cause.message);
      if (error instanceof WorkflowNotFoundError) throw new FlowStopRefusedError(id, 'the flow run has already ended');
      throw error;
    }
  }

  /** Live from the query while it runs; once closed, its result or the state its failure carries. */
  private async readState(workflowId: string, running: boolean): Promise<FlowRunState | undefined> {
    const handle = this.options.client.workflow.getHandle(workflowId);
    if (running) return handle.query(flowStateQuery);
    try {
      return (await handle.result()) as FlowRunState;
    } catch (error) {
      if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) return error.cause.details?.[0] as FlowRunState | undefined;
      return undefined;
    }
  }

  private async checkAgents(flow: Flow): Promise<void> {
    const problems: string[] = [];
    for (const role of ['builder', 'reviewer'] as const) {
      const agent = await loadAgent(this.options.configDir, flow[role].agent).catch((error: unknown) => {
        problems.push(`${role}.agent: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (!agent) continue;
      if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
      if (agent.type !== 'autonomous') problems.push(`${role}.agent: "${agent.name}" is procedural; a flow's steps are agent CLIs`);
      if (role === 'reviewer') {
        const schema = agent.output_schema;
        const answers = schema ? SAMPLE_REVIEWS.every((sample) => jsonSchemaProblems(schema, sample).length === 0) : false;
        if (!answers) problems.push(`reviewer.agent: "${agent.name}" needs an output_schema that asks for { verdict: "approve" | "request_changes", comments: string[] }`);
      }
    }
    if (problems.length) throw new InvalidConfigFileError(`flow ${flow.name}`, problems);
  }
}

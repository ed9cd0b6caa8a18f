import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { runFailure } from '../core/contract/failures.js';
import { takesRuns } from '../core/contract/fleet.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { loadAgent } from '../core/config/agents.js';
import {
  AgentInactiveError,
  AgentNotFoundError,
  InvalidConfigFileError,
  ParametersInvalidError,
  SessionNotResumableError,
} from '../core/contract/errors.js';
import { readRunState } from '../core/temporal/run-state.js';
import { checkRunParameters } from '../core/config/run-parameters.js';
import { scriptVersions } from '../core/config/scripts.js';
import { mergeDemands, rankRunners, type RunnerCandidate, type RunnerWait } from '../core/contract/matching.js';
import type { Demands } from '../core/contract/demands.js';
import type { RunInput, RunState, RunnerSummary } from '../core/contract/workflow-io.js';
import type { ScriptRef } from '../core/contract/config-files.js';
import {
  RUNNER_WORKFLOW_TYPE,
  RUN_WORKFLOW_TYPE,
  reserveSlotUpdate,
  runWorkflowId,
  runnerStateQuery,
  runnerWorkflowId,
  type RunnerState,
} from '../workflows/messages.js';
import type { ExecuteRequest } from './runner.js';

export interface ControlDependencies {
  client: Client;
  /** Where `agents/` and `scripts/` live. */
  configDir: string;
}

/** What the workflow needs once the agent is resolved. */
export interface ResolvedRun {
  demands: Demands;
  /** The script a procedural run needs installed on its runner. */
  script?: ScriptRef;
  timeout_seconds?: number;
  request: ExecuteRequest;
}

/** Activities of the control worker: they read configuration and the fleet, never run executors. */
export function createControlActivities({ client, configDir }: ControlDependencies) {
  /** Live runners as candidates for `runId`: a slot the run already holds (a retried pick) counts as free for it. */
  async function liveRunners(runId: string): Promise<RunnerCandidate[]> {
    const query = visibility.allOf(visibility.workflowTypeIs(RUNNER_WORKFLOW_TYPE), visibility.isRunning(), visibility.attributeIs(searchAttributes.runnerOnline, true));
    const candidates: RunnerCandidate[] = [];
    for await (const execution of client.workflow.list({ query })) {
      // Visibility lags; the workflow's own state is the truth.
      const state = await client.workflow
        .getHandle(execution.workflowId)
        .query(runnerStateQuery)
        .catch(() => undefined);
      if (!state || !takesRuns(state)) continue;
      candidates.push(toCandidate(state, runId));
    }
    return candidates;
  }

  /** The newest earlier run of the session that reported an executor session, with the runner that holds it. */
  async function sessionToResume(sessionId: string, runId: string): Promise<Pick<RunState, 'executor_session_id' | 'runner' | 'workspace' | 'result'>> {
    const query = visibility.allOf(visibility.workflowTypeIs(RUN_WORKFLOW_TYPE), visibility.attributeIs(searchAttributes.sessionId, sessionId));
    for await (const execution of client.workflow.list({ query })) {
      if (execution.workflowId === runWorkflowId(runId)) continue;
      const state = await readRunState(client, execution.workflowId);
      if (state?.executor_session_id && state.runner) return state;
    }
    throw new SessionNotResumableError(sessionId);
  }

  /** What a session had cost by the end of its run `result`, as its executor counts (a running total). */
  function sessionCostSoFar(result: unknown): number | undefined {
    const data = (result ?? {}) as { cost_usd?: unknown; usage?: { raw?: { session_cost_usd?: unknown } } };
    const total = data.usage?.raw?.session_cost_usd ?? data.cost_usd;
    return typeof total === 'number' ? total : undefined;
  }

  return {
    /** What every runner should have installed: script name → version. */
    listScriptVersions(): Promise<Record<string, string>> {
      return scriptVersions(configDir);
    },

    async resolveRun(input: RunInput): Promise<ResolvedRun> {
      try {
        const agent = await loadAgent(configDir, input.agent);
        if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
        const resumed = input.session_mode === 'resume' ? await sessionToResume(input.session_id, input.run_id) : undefined;
        // The script may have changed since the API checked the parameters: the version that runs is the one checked.
        const script = await checkRunParameters(configDir, agent, input.parameters);
        const demands = mergeDemands(
          // Session affinity first: a resumed session continues on the runner that holds it.
          resumed?.runner ? { hostname: resumed.runner.hostname, project_dir: resumed.runner.project_dir, executor_profile: resumed.runner.executor_profile } : undefined,
          agent.demands,
          script?.demands,
          agent.type === 'procedural' ? { executor_type: 'procedural' } : undefined,
          input.additional_demands,
        );
        const scriptRef = script ? { name: script.name, version: script.version, script_file: script.script_file } : undefined;
        return {
          demands,
          ...(scriptRef ? { script: scriptRef } : {}),
          ...(agent.timeout_seconds ? { timeout_seconds: agent.timeout_seconds } : {}),
          request: {
            run_id: input.run_id,
            agent: {
              name: agent.name,
              type: agent.type,
              ...(agent.system_prompt ? { system_prompt: agent.system_prompt } : {}),
              ...(agent.output_schema ? { output_schema: agent.output_schema } : {}),
            },
            ...(input.prompt !== undefined ? { prompt: input.prompt } : {}),
            parameters: input.parameters,
            ...(agent.workspace_mode ? { workspace_mode: agent.workspace_mode } : {}),
            ...(scriptRef ? { script: scriptRef } : {}),
            ...(agent.command ? { command: agent.command } : {}),
            // A resumed session continues from where its previous run left the code, unless the request names a base.
            ...(input.base_ref ? { base_ref: input.base_ref } : resumed?.workspace?.branch ? { base_ref: resumed.workspace.branch } : {}),
            workspace_key: input.session_id,
            ...(sessionCostSoFar(resumed?.result) !== undefined ? { session_cost_usd_before: sessionCostSoFar(resumed?.result) } : {}),
            ...(input.policy ? { policy: input.policy } : {}),
            ...(resumed?.executor_session_id ? { session_id: resumed.executor_session_id } : {}),
            created_at: input.created_at,
          },
        };
      } catch (error) {
        if (
          error instanceof AgentNotFoundError ||
          error instanceof AgentInactiveError ||
          error instanceof InvalidConfigFileError ||
          error instanceof ParametersInvalidError ||
          error instanceof SessionNotResumableError
        ) {
          throw runFailure('INVALID_RUN', error.message);
        }
        throw error;
      }
    },

    /** Reserves a slot on the best eligible live runner, or says why none can take the run. */
    async pickRunner({ run_id, demands, script }: { run_id: string; demands: Demands; script?: ScriptRef }): Promise<{ runner?: RunnerSummary; reason: string; waiting?: RunnerWait }> {
      const ranking = rankRunners(await liveRunners(run_id), demands, script);
      if (ranking.reason !== undefined) return { reason: ranking.reason, waiting: ranking.waiting };
      for (const runner of ranking.eligible) {
        const reply = await client.workflow
          .getHandle(runnerWorkflowId(runner.runner_id))
          .executeUpdate(reserveSlotUpdate, { args: [{ run_id, workflow_id: runWorkflowId(run_id) }] })
          .catch((error: unknown) => {
            if (error instanceof WorkflowUpdateFailedError) return { accepted: false };
            throw error;
          });
        if (reply.accepted) {
          const { runner_id, hostname, project_dir, executor_profile } = runner;
          return { runner: { runner_id, hostname, project_dir, executor_profile }, reason: '' };
        }
      }
      return { reason: 'every matching runner filled up; retrying', waiting: 'slot' };
    },
  };
}

function toCandidate(state: RunnerState, runId: string): RunnerCandidate {
  const reg = state.registration;
  return {
    runner_id: reg.runner_id,
    hostname: reg.hostname,
    project_dir: reg.project_dir,
    executor_profile: reg.executor_profile,
    executor_type: reg.executor.type,
    tags: reg.tags,
    require_matching_tags: reg.require_matching_tags,
    capacity: reg.capacity,
    active_runs: state.active_runs.filter((id) => id !== runId).length,
    scripts: Object.fromEntries(Object.entries(state.scripts ?? {}).map(([name, installed]) => [name, installed.version])),
  };
}

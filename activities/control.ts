import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { runFailure } from '../core/contract/failures.js';
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
import { matchingRunners, mergeDemands, rankRunners, type RunnerCandidate, type RunnerWait } from '../core/contract/matching.js';
import { ConcurrencyKeyError, resolveConcurrency, type ResolvedConcurrency } from '../core/contract/concurrency.js';
import type { Demands } from '../core/contract/demands.js';
import { strictestBudget } from '../core/contract/budget.js';
import type { RunInput, RunState, RunnerSummary } from '../core/contract/workflow-io.js';
import type { WorkspaceSummary } from '../core/contract/workspace.js';
import type { ScriptRef } from '../core/contract/config-files.js';
import {
  RUN_WORKFLOW_TYPE,
  reserveSlotUpdate,
  runWorkflowId,
  runnerWorkflowId,
  type ReserveSlotReply,
  type ReserveSlotRequest,
  type RunnerState,
} from '../workflows/messages.js';
import type { FleetView, Freshness } from './fleet-view.js';
import type { ExecuteRequest } from './runner.js';

/**
 * How many runners' queues a run waiting for a slot joins at most. Each queue joined costs an update
 * and a leave on a runner workflow, which handles them one task at a time: in a burst those are the
 * bottleneck (4 queues each took a burst of 100 runs from 3.3 to 1.9 runs/s). A run in one queue
 * still moves when another runner has room: it looks again every 30 s.
 */
const MAX_QUEUES_JOINED = 1;

export interface ControlDependencies {
  client: Client;
  /** Where `agents/` and `scripts/` live. */
  configDir: string;
  /** The worker's fleet view, which its workflows' sinks also feed (fleetViewSinks). */
  fleet: FleetView;
}

/** What the workflow needs once the agent is resolved. */
export interface ResolvedRun {
  demands: Demands;
  /** The script a procedural run needs installed on its runner. */
  script?: ScriptRef;
  timeout_seconds?: number;
  /** The concurrency keys the run takes a permit of before it looks for a runner, in the order it takes them. */
  concurrency?: ResolvedConcurrency[];
  request: ExecuteRequest;
}

/** Activities of the control worker: they read configuration and the fleet, never run executors. */
export function createControlActivities({ client, configDir, fleet }: ControlDependencies) {
  /** Live runners as candidates for `runId`: a slot the run already holds (a retried pick) counts as free for it. */
  async function liveRunners(runId: string, fresh: Freshness): Promise<RunnerCandidate[]> {
    return (await fleet.runners({ fresh })).map((state) => {
      const candidate = toCandidate(state, runId);
      return { ...candidate, active_runs: candidate.active_runs + fleet.claimed(candidate.runner_id, runId) };
    });
  }

  /** Asks the runner workflow, the arbiter, for a slot; its reply updates the fleet view. */
  async function reserve(runnerId: string, request: ReserveSlotRequest): Promise<ReserveSlotReply> {
    const reply = await fleet.claiming(runnerId, request.run_id, () =>
      client.workflow
        .getHandle(runnerWorkflowId(runnerId))
        .executeUpdate(reserveSlotUpdate, { args: [request] })
        .catch((error: unknown): ReserveSlotReply => {
          if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return { accepted: false };
          throw error;
        }),
    );
    if (reply.state) fleet.note(reply.state, reply.queue_length ?? 0);
    else if (!reply.accepted) fleet.forget(runnerId);
    return reply;
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

  const activities = {
    /** What every runner should have installed: script name → version. */
    listScriptVersions(): Promise<Record<string, string>> {
      return scriptVersions(configDir);
    },

    async resolveRun(input: RunInput): Promise<ResolvedRun> {
      try {
        const agent = await loadAgent(configDir, input.agent);
        if (agent.status === 'inactive') throw new AgentInactiveError(agent.name);
        const resumed = input.session_mode === 'resume' ? await sessionToResume(input.session_id, input.run_id) : undefined;
        const costBefore = sessionCostSoFar(resumed?.result);
        // A resumed session continues from where its previous run left the code, unless the request names a base.
        const baseRef = input.base_ref ?? resumedBase(resumed?.workspace);
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
        // Filled in from what the run is known to be now: its agent, its project (demands) and its session.
        const concurrency = resolveConcurrency([agent.concurrency, input.concurrency], { agent: agent.name, session: input.session_id, ...(demands.project_dir ? { project: demands.project_dir } : {}) });
        const budget = strictestBudget(agent.budget, input.budget);
        const scriptRef = script ? { name: script.name, version: script.version, script_file: script.script_file } : undefined;
        return {
          demands,
          ...(scriptRef ? { script: scriptRef } : {}),
          ...(agent.timeout_seconds ? { timeout_seconds: agent.timeout_seconds } : {}),
          ...(concurrency.length ? { concurrency } : {}),
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
            ...(baseRef ? { base_ref: baseRef } : {}),
            workspace_key: input.session_id,
            ...(costBefore !== undefined ? { session_cost_usd_before: costBefore } : {}),
            ...(input.policy ? { policy: input.policy } : {}),
            ...(budget ? { budget } : {}),
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
          error instanceof SessionNotResumableError ||
          error instanceof ConcurrencyKeyError
        ) {
          throw runFailure('INVALID_RUN', error.message);
        }
        throw error;
      }
    },

    /**
     * Reserves a slot on the best eligible live runner, or says why none can take the run. The fleet
     * view answers which runners to ask, without a query per runner; a "no runner" answer is checked
     * against a fresh view before it is given. When every matching runner is busy, the run joins the
     * queue of the one with the shortest queue and is granted its next free slot.
     */
    async pickRunner({ run_id, demands, script, priority, queued_at }: PickRequest): Promise<PickResult> {
      const base = { run_id, workflow_id: runWorkflowId(run_id), ...(script ? { script: { name: script.name, version: script.version } } : {}) };
      // What the last look lacked: a runner that matches (every runner is read again), or room (new and changed runners are).
      // A queued run looking again (workflows/dispatch.ts) looks for a slot that freed without the view hearing of it.
      let fresh: Freshness = queued_at ? 'slots' : 'as-is';
      const held = await fleet.holding(run_id);
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const candidates = await liveRunners(run_id, fresh);
        const ranking = rankRunners(candidates, demands, script);
        // A slot an earlier attempt of this pick reserved (its reply was lost to a timeout) is taken first.
        const eligible: RunnerCandidate[] = [...ranking.eligible];
        const holder = eligible.findIndex((runner) => runner.runner_id === held);
        if (holder > 0) eligible.unshift(...eligible.splice(holder, 1));
        if (ranking.waiting === 'runner') {
          // "No runner" is said only of a view that has just read every runner: the one in memory may lack a
          // new runner. (A run that finds every runner busy asks them to queue it, which tells it of a slot the view missed.)
          if (fresh === 'every-runner') return { reason: ranking.reason, waiting: ranking.waiting };
          fresh = 'every-runner';
          continue;
        }
        for (const runner of eligible) {
          const reply = await reserve(runner.runner_id, { ...base, queue: false });
          if (reply.accepted) return { runner: summaryOf(runner), reason: '', picked_at: new Date().toISOString() };
        }
        if (ranking.waiting !== 'slot') {
          // Every runner the view offered refused (their replies are in it now): look for new ones.
          fresh = 'changes';
          continue;
        }
        const busy = matchingRunners(candidates, demands, script);
        // Already queued on a runner that still matches: its grant will come; asking again costs an update.
        if (queued_at && busy.some((runner) => runner.runner_id === queued_at)) return { reason: ranking.reason, waiting: 'slot', queued_at };
        // All busy: join the shortest queue(s) (MAX_QUEUES_JOINED; the run leaves the others once it has a slot).
        // A runner may have room after all (the view was old): it accepts instead of queueing.
        busy.sort((a, b) => fleet.queueLength(a.runner_id) - fleet.queueLength(b.runner_id) || a.runner_id.localeCompare(b.runner_id));
        const joined: string[] = [];
        let queueLength: number | undefined;
        for (const runner of busy) {
          const reply = await reserve(runner.runner_id, { ...base, queue: true, ...(priority !== undefined ? { priority } : {}) });
          if (reply.accepted) return { runner: summaryOf(runner), reason: '', picked_at: new Date().toISOString(), ...(joined.length ? { joined } : {}) };
          if (reply.queued) {
            joined.push(runner.runner_id);
            queueLength ??= reply.queue_length;
          }
          if (joined.length >= MAX_QUEUES_JOINED) break;
        }
        if (joined.length) return { reason: ranking.reason, waiting: 'slot', queued_at: joined[0]!, joined, ...(queueLength !== undefined ? { queue_length: queueLength } : {}) };
      }
      return { reason: 'every matching runner filled up; retrying', waiting: 'slot' };
    },
  };
  return {
    ...activities,
    /**
     * resolveRun, then (for a run without concurrency keys, which takes its permits first) its first
     * pickRunner, in one local activity: one hand-off to the workflow thread fewer.
     */
    async resolveAndPick(input: RunInput): Promise<ResolvedAndPicked> {
      const resolved = await activities.resolveRun(input);
      if (resolved.concurrency?.length) return { resolved };
      const { demands, script } = resolved;
      // A pick that fails is not a bad run: the workflow picks again on its own (a slot this one reserved is found again).
      const pick = await activities.pickRunner({ run_id: input.run_id, demands, ...(script ? { script } : {}), ...(input.priority !== undefined ? { priority: input.priority } : {}) }).catch(() => undefined);
      return { resolved, ...(pick ? { pick } : {}) };
    },
  };
}

/** What resolveAndPick answers: the run resolved, and its first pick unless it has concurrency keys to take first. */
export interface ResolvedAndPicked {
  resolved: ResolvedRun;
  pick?: PickResult;
}

/** What pickRunner takes. */
export interface PickRequest {
  run_id: string;
  demands: Demands;
  script?: ScriptRef;
  /** Higher is dispatched first when slots are scarce. */
  priority?: number;
  /** The runner whose queue the run already waits in. */
  queued_at?: string;
}

/** What pickRunner answers: a reserved runner, or why none and whether the run is queued for a slot. */
export interface PickResult {
  runner?: RunnerSummary;
  reason: string;
  waiting?: RunnerWait;
  /** The runner whose queue the run joined: that runner grants it a slot when one frees. */
  queued_at?: string;
  /** Every runner whose queue the run joined (queued_at first): the run leaves the others' once it has a slot. */
  joined?: string[];
  /** How many runs that queue held once the run joined it (the run included): a run deep in a queue looks again less often. */
  queue_length?: number;
  /** When the slot was reserved (the control worker's clock): the workflow's own clock stands still within a workflow task. */
  picked_at?: string;
}

/** Where a session's previous run left the code: its branch, or (it changed nothing, so its branch is gone) its head commit. */
function resumedBase(workspace: WorkspaceSummary | undefined): string | undefined {
  return workspace?.branch ?? workspace?.head_commit;
}

function summaryOf({ runner_id, hostname, project_dir, executor_profile }: RunnerCandidate): RunnerSummary {
  return { runner_id, hostname, project_dir, executor_profile };
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

import type { Client } from '@temporalio/client';
import type { ScriptRef } from '../../core/contract/config-files.js';
import type { RunPolicy } from '../../core/contract/policy.js';
import type { Budget } from '../../core/contract/budget.js';
import type { ExecutorProfile } from '../../core/contract/executor-profile.js';
import type { RunnerRegistration } from '../../core/contract/fleet.js';
import type { WorkspaceMode } from '../../core/contract/workspace.js';
import type { EventKind } from '../../core/contract/events.js';
import type { Redactor } from '../../core/contract/secrets.js';
import type { Containment } from '../containment/containment.js';
import type { ExecutorUser } from '../containment/executor-user.js';
import type { TemporalContact } from './temporal-contact.js';
import type { EventSpool } from '../events/event-spool.js';
import type { HookSettings } from '../hooks.js';
import type { RunnerLog } from '../runner-log.js';
import type { RunnerMetrics } from '../../core/observability/metrics.js';
import type { LiveExecutions } from './live-executions.js';
import type { ForgeAccess } from '../forge.js';
import type { AgentApi } from './run-credential.js';

/** What the workflow sends the runner: the run, before the runner adds its executor and workspace. */
export interface ExecuteRequest {
  run_id: string;
  agent: { name: string; type: string; system_prompt?: string; output_schema?: Record<string, unknown> };
  prompt?: string;
  parameters: Record<string, unknown>;
  /** The executor session to continue. */
  session_id?: string;
  timeout_seconds?: number;
  /** The agent's choice of workspace; the profile's `workspace_mode` applies when unset. */
  workspace_mode?: WorkspaceMode;
  /** The commit or branch the run's worktree starts from; a resumed session's run: the previous run's branch. */
  base_ref?: string;
  /** The run's ao session: its runs share one worktree path, one after the other. */
  workspace_key?: string;
  /** A resumed session's cost so far, as its executor reported it: what this run's own cost is taken from. */
  session_cost_usd_before?: number;
  /** A procedural run's synced script, installed under the project's `.ao/scripts/`. */
  script?: ScriptRef;
  /** A procedural agent's runner-local command, when it has no script. */
  command?: string[];
  /** The run request's policy: merged with the profile's, which it can only tighten. */
  policy?: RunPolicy;
  /** The request's and the agent's budget merged; the runner merges in its profile's (the strictest wins). */
  budget?: Budget;
  /** When the API accepted the run (ISO time): what the dispatch latency and queue wait are measured from. */
  created_at?: string;
}

/** Heartbeat details: what a retried attempt (after a runner crash) needs to clean up and resume. */
export interface ExecuteProgress {
  pid?: number;
  /** The attempt's cgroup, where it has one: a retried attempt ends what is left in it. */
  cgroup?: string;
  session_id?: string;
}

/** What the runner wires into its execute activity. */
export interface ExecuteDependencies {
  client: Client;
  registration: RunnerRegistration;
  /** The runner's profile, its config parsed by its type's schema. */
  profile: ExecutorProfile;
  killGraceMs: number;
  /** How this runner holds its runs' processes. */
  containment: Containment;
  /** The unprivileged user executors run as (a root runner's); unset, the runner's own user. */
  executorUser?: ExecutorUser;
  /** The runner's own folder (spool, state): never opened to an executor. */
  dataDir: string;
  /** When this runner last reached Temporal: the fence ends runs it may lose. */
  contact: TemporalContact;
  /** The runner's secrets and the key shapes: every value the run reports passes through it. */
  redactor: Redactor;
  events: EventSpool;
  hooks: HookSettings;
  log: RunnerLog;
  metrics: RunnerMetrics;
  /** The runner's live executions: where commands from the runs' workflows arrive. */
  live: LiveExecutions;
  /** Where a missing base commit is fetched from, with the runner's forge credential (never the executor's). */
  forge: ForgeAccess;
  /** The API this runner reports to: where a run's agent CLI gets ao's MCP server and its run's credential. */
  agentApi?: AgentApi;
  /** Serialises runs in `project` mode: they share one folder. */
  projectLock: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Reports one event of this run (this attempt) to the event spool. */
export type Emit = (kind: EventKind, data: Record<string, unknown>) => void;

/** One attempt of the execute activity: its number, and what a crashed earlier attempt left. */
export interface Attempt {
  number: number;
  previous?: ExecuteProgress;
}

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EXECUTOR_INVOCATION_SCHEMA_VERSION, type ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import { runFailure } from '../../core/contract/failures.js';
import { mergePolicies, type MergedPolicy } from '../../core/contract/policy.js';
import { NetworkIsolationError, assertNetworkIsolation, networkNamespacePrefix } from '../containment/network-namespace.js';
import type { RunnerRegistration } from '../../core/contract/fleet.js';
import { adapterFor } from '../executors/catalog.js';
import { ExecutorConfigError } from '../executors/cli-support.js';
import type { ApprovalPolicy, ExecutorAdapter, Plan } from '../executors/contract.js';
import { installedScriptPath, installedScriptsRoot, readInstalledScript } from '../scripts.js';
import type { Workspace } from '../workspace.js';
import type { Attempt, ExecuteDependencies, ExecuteRequest } from './context.js';
import { userEnvironment, type ExecutorUser } from '../containment/executor-user.js';
import { executorEnvironment } from './environment.js';
import { RUN_CREDENTIAL_ENV } from '../../core/contract/mcp.js';
import { RunCredentialUnavailableError, fetchRunCredential } from './run-credential.js';
import { openExecutorWrites, openReadOnlyToExecutor } from './executor-access.js';

/** Everything needed to spawn the executor: what it is, what it reads, and how. */
export interface Launch {
  adapter: ExecutorAdapter;
  invocation: ExecutorInvocation;
  /** Where the executor's user lives (`ExecutorAdapter.prepare`). */
  where: { home: string };
  argv: string[];
  stdin: string;
  /** The executor's whole environment: clean, see `executorEnvironment`. */
  env: NodeJS.ProcessEnv;
  /** The executor session this attempt continues, if any. */
  sessionId?: string;
  /** Driven over the executor's structured protocol: its stdin stays open (`Plan.conversation`). */
  conversation?: boolean;
  /** A supervised run: its permission requests follow this policy. */
  supervision?: ApprovalPolicy;
  /** `network: restricted` for a process ao starts itself: the argv prefix of its own network namespace. */
  networkNamespace?: string[];
  /** Why the agent CLI got no MCP server of ao's (the run goes on without it). */
  mcpUnavailable?: string;
}

/** The agent CLIs that get ao's MCP server for their run. */
const AGENT_CLI_TYPES = new Set(['claude-code', 'codex', 'gemini']);

/**
 * Resolves the command, builds the invocation and lets the adapter plan argv and stdin. A profile
 * that gives no command is `EXECUTOR_NOT_FOUND`; a config the adapter refuses is `INVALID_RUN`.
 */
export async function planLaunch(deps: ExecuteDependencies, request: ExecuteRequest, workspace: Workspace, attempt: Attempt): Promise<Launch> {
  const { registration, profile } = deps;
  const adapter = adapterFor(profile.type);
  const command = request.script || request.command ? await proceduralCommand(registration, deps.dataDir, profile.command, request, deps.executorUser) : (profile.command ?? adapter.defaultCommand());
  if (!command) {
    throw runFailure('EXECUTOR_NOT_FOUND', `runner ${registration.runner_id}: profile "${registration.executor_profile}" of type ${profile.type} gives no command`);
  }
  const sessionId = request.session_id ?? attempt.previous?.session_id;
  const {
    timeout_seconds: _timeout,
    workspace_mode: _mode,
    base_ref: _base,
    script: _script,
    command: _command,
    workspace_key: _key,
    session_cost_usd_before: _costBefore,
    policy: requested,
    budget: _budget,
    ...run
  } = request;
  // The request can only tighten the profile's policy: the merge unions denials and intersects allowances.
  const policy = mergePolicies(profile.policy, requested);
  const mcp = await runCredentialFor(deps, profile.type, request.run_id);
  // An agent may run the synced scripts as tools: it is told where they are.
  const scriptsDir = AGENT_CLI_TYPES.has(profile.type) ? installedScriptsRoot(deps.dataDir) : undefined;
  const invocation: ExecutorInvocation = {
    schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
    ...run,
    ...(sessionId ? { session_id: sessionId } : {}),
    executor_type: profile.type,
    executor_config: profile.config,
    workspace_dir: workspace.dir,
    ...(policy ? { policy } : {}),
    ...(mcp.credential ? { ao_mcp: { url: mcp.credential.url, credential_env: RUN_CREDENTIAL_ENV } } : {}),
    ...(scriptsDir ? { scripts_dir: scriptsDir } : {}),
  };
  const networkNamespace = await isolationFor(profile.type, policy);
  const user = deps.executorUser;
  const where = { home: user?.home ?? os.homedir() };
  let planned: Plan;
  let prepared: NodeJS.ProcessEnv;
  try {
    planned = adapter.plan(invocation, command);
    prepared = adapter.prepare ? await adapter.prepare(invocation, where) : {};
  } catch (error) {
    if (error instanceof ExecutorConfigError) throw runFailure('INVALID_RUN', error.message);
    throw error;
  }
  if (user) {
    // A settings home the runner prepared is the executor's to write (its sessions live there).
    await openExecutorWrites(user, adapter.executorWrites?.(invocation, where) ?? []);
    if (scriptsDir) {
      // Not worth failing the run for: without it the agent cannot read the scripts, and nothing else changes.
      await fs
        .mkdir(scriptsDir, { recursive: true })
        .then(() => openReadOnlyToExecutor(user, scriptsDir))
        .catch((error: Error) => deps.log.error(`${request.run_id}: the scripts folder is not readable to the executor: ${error.message}`, request.run_id));
    }
    for (const file of adapter.executorReads?.(invocation) ?? []) await openReadOnlyToExecutor(user, path.resolve(registration.project_dir, file));
  }
  // The run's credential reaches the CLI as a variable its MCP config names (and the run's redactor knows, by its name).
  const credentialEnv = mcp.credential ? { [RUN_CREDENTIAL_ENV]: mcp.credential.token } : {};
  const env = executorEnvironment(process.env, profile.config, { AO_RUN_ID: request.run_id, AO_WORKSPACE_DIR: workspace.dir, ...(scriptsDir ? { AO_SCRIPTS_DIR: scriptsDir } : {}) }, { ...prepared, ...credentialEnv }, user ? userEnvironment(user) : {});
  const supervision = planned.supervision;
  if (policy && profile.type !== 'procedural' && !supervision?.runPolicy) {
    // Nothing would judge the executor's tool uses: refused rather than run unchecked.
    throw runFailure('INVALID_RUN', `the run has a policy, and a ${profile.type} executor on this runner cannot enforce one (it does not ask ao about its tool uses)`);
  }
  return { adapter, invocation, where, ...planned, env, ...(sessionId ? { sessionId } : {}), ...(networkNamespace ? { networkNamespace } : {}), ...(mcp.unavailable ? { mcpUnavailable: mcp.unavailable } : {}) };
}

/** An agent CLI's credential for ao's MCP server; none for other executors, or when the runner has no API. */
async function runCredentialFor(deps: ExecuteDependencies, type: string, runId: string): Promise<{ credential?: { url: string; token: string }; unavailable?: string }> {
  if (!AGENT_CLI_TYPES.has(type) || !deps.agentApi) return {};
  try {
    return { credential: await fetchRunCredential(deps.agentApi, runId) };
  } catch (error) {
    if (error instanceof RunCredentialUnavailableError) return { unavailable: error.message };
    throw error;
  }
}

/**
 * A procedural run under `network: restricted` runs in a network namespace of its own, or is
 * refused with the reason. Agent CLIs are held to it by their own settings and ao's judge instead.
 */
async function isolationFor(type: string, policy: MergedPolicy | undefined): Promise<string[] | undefined> {
  if (type !== 'procedural' || policy?.network !== 'restricted') return undefined;
  try {
    await assertNetworkIsolation();
  } catch (error) {
    if (error instanceof NetworkIsolationError) throw runFailure('INVALID_RUN', error.message);
    throw error;
  }
  return networkNamespacePrefix();
}

/**
 * A procedural run's command: its synced script, checked to be installed at the version the run was
 * validated against (behind the profile's `command`, an interpreter such as `uv run --script`, when
 * it has one), or the agent's runner-local command, relative to the project dir.
 */
async function proceduralCommand(registration: RunnerRegistration, dataDir: string, interpreter: string[] | undefined, request: ExecuteRequest, user: ExecutorUser | undefined): Promise<string[]> {
  const { script } = request;
  if (!script) {
    const [executable, ...args] = request.command!;
    return [executable!.includes('/') ? path.resolve(registration.project_dir, executable!) : executable!, ...args];
  }
  const installed = await readInstalledScript(dataDir, script.name);
  if (installed?.version !== script.version) {
    const have = installed ? `version ${installed.version.slice(0, 12)} is installed` : 'it is not installed';
    throw runFailure('EXECUTOR_NOT_FOUND', `script ${script.name} version ${script.version.slice(0, 12)} is not on runner ${registration.runner_id}: ${have}`);
  }
  const file = installedScriptPath(dataDir, script);
  if (user) await openReadOnlyToExecutor(user, path.dirname(file));
  return [...(interpreter ?? []), file];
}

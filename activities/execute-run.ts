import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  EXECUTOR_INVOCATION_SCHEMA_VERSION,
  type ExecutionResult,
  type ExecutorInvocation,
  type RunnerRegistration,
  type ScriptRef,
  type WorkspaceSummary,
} from '../core/schemas.js';
import { RUNNER_SHUTDOWN, executorSessionSignal, executorStartedSignal, runWorkflowId } from '../workflows/messages.js';
import type { EventSpool } from './events/event-spool.js';
import { executorCatalog } from './executors/catalog.js';
import { ExecutorConfigError } from './executors/cli-support.js';
import { ProcessStartError, killGroup, runProcess, waitForGroupExit, type ProcessOutcome } from './executors/process.js';
import { runInPty } from './executors/pty-process.js';
import { installedScriptPath, readInstalledScript } from './scripts.js';
import { describeHookFailure, runHooks, type HookSettings } from './hooks.js';
import type { RunnerLog } from './runner-log.js';
import { WorkspaceError, chooseMode, finishWorkspace, prepareWorkspace, type Workspace } from './workspace.js';

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
  workspace_mode?: string;
  base_ref?: string;
  /** A procedural run's synced script, installed under the project's `.ao/scripts/`. */
  script?: ScriptRef;
  /** A procedural agent's runner-local command, when it has no script. */
  command?: string[];
}

/** Heartbeat details: what a retried attempt (after a runner crash) needs to clean up and resume. */
interface ExecuteProgress {
  pid?: number;
  session_id?: string;
}

export interface ExecuteDependencies {
  client: Client;
  registration: RunnerRegistration;
  killGraceMs: number;
  events: EventSpool;
  hooks: HookSettings;
  log: RunnerLog;
  /** Serialises runs in `project` mode: they share one folder. */
  projectLock: <T>(work: () => Promise<T>) => Promise<T>;
}

const HEARTBEAT_INTERVAL_MS = 1_000;

const configNumber = (config: Record<string, unknown>, key: string): number | undefined =>
  typeof config[key] === 'number' && config[key] > 0 ? config[key] : undefined;

const failure = (type: string, message: string): ApplicationFailure => ApplicationFailure.create({ type, message, nonRetryable: true });

/**
 * Runs one run on this runner: workspace, pre_run hooks, the executor process, then the diff,
 * the workspace cleanup and post_run hooks. Cancelling the activity (a stop) or reaching the run's
 * timeout ends the executor's whole process group; the activity returns only once it is gone.
 * A retried attempt (the runner crashed and came back) ends what the dead attempt left running and
 * continues in the same worktree with the same executor session.
 */
export async function executeRun(deps: ExecuteDependencies, request: ExecuteRequest): Promise<ExecutionResult> {
  const { registration } = deps;
  const context = Context.current();
  const attempt = context.info.attempt;
  const previous = attempt > 1 ? (context.info.heartbeatDetails as ExecuteProgress | undefined) : undefined;
  const emit = (kind: Parameters<EventSpool['emit']>[2], data: Record<string, unknown>): void => deps.events.emit(request.run_id, attempt, kind, data);

  let mode;
  let workspace: Workspace;
  try {
    mode = await chooseMode(registration.project_dir, request.workspace_mode ?? registration.executor.config.workspace_mode);
    workspace = await prepareWorkspace(registration.project_dir, request.run_id, mode, request.base_ref);
  } catch (error) {
    if (error instanceof WorkspaceError) throw failure('WORKSPACE_FAILED', error.message);
    throw error;
  }
  const work = (): Promise<ExecutionResult> => runInWorkspace(deps, request, workspace, attempt, previous, emit);
  deps.log.runStarted(request.run_id, request.agent.name, workspace.dir);
  const started = Date.now();
  try {
    const result = await (mode === 'project' ? deps.projectLock(work) : work());
    deps.log.runEnded(request.run_id, 'completed', Date.now() - started);
    return result;
  } catch (error) {
    deps.log.runEnded(request.run_id, error instanceof CancelledFailure ? 'stopped' : 'failed', Date.now() - started, (error as Error).message);
    throw error;
  }
}

async function runInWorkspace(
  deps: ExecuteDependencies,
  request: ExecuteRequest,
  workspace: Workspace,
  attempt: number,
  previous: ExecuteProgress | undefined,
  emit: (kind: Parameters<EventSpool['emit']>[2], data: Record<string, unknown>) => void,
): Promise<ExecutionResult> {
  const { registration } = deps;
  const { executor } = registration;
  const context = Context.current();
  const hookInput = { run: request, workspace, runner: { runner_id: registration.runner_id, hostname: registration.hostname } };
  emit('state_changed', {
    phase: 'workspace_ready',
    mode: workspace.mode,
    dir: workspace.dir,
    reused: workspace.reused === true,
    ...(workspace.branch ? { branch: workspace.branch } : {}),
  });

  if (!previous) {
    const preRuns = await runHooks(deps.hooks, 'pre_run', hookInput, workspace.dir);
    for (const run of preRuns) {
      emit('hook_run', { ...run });
      deps.log.hook(run);
    }
    const failed = preRuns.find((run) => !run.passed);
    if (failed) {
      await finishWorkspace(workspace, request.run_id, { commit: true, remove: true }).catch(() => undefined);
      throw failure('HOOK_FAILED', describeHookFailure(failed));
    }
  }

  const adapter = executorCatalog[executor.type];
  const command = request.script || request.command ? await proceduralCommand(registration, request) : (executor.command ?? adapter.defaultCommand());
  if (!command) {
    throw failure('EXECUTOR_NOT_FOUND', `runner ${registration.runner_id}: profile "${registration.executor_profile}" of type ${executor.type} gives no command`);
  }
  if (previous?.pid) {
    killGroup(previous.pid, 'SIGKILL');
    await waitForGroupExit(previous.pid);
  }
  const progress: ExecuteProgress = {};
  const sessionId = request.session_id ?? previous?.session_id;
  if (sessionId) progress.session_id = sessionId;
  const { timeout_seconds: requestTimeout, workspace_mode: _mode, base_ref: _base, script: _script, command: _command, ...run } = request;
  const invocation: ExecutorInvocation = {
    schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
    ...run,
    ...(sessionId ? { session_id: sessionId } : {}),
    executor_type: executor.type,
    executor_config: executor.config,
    workspace_dir: workspace.dir,
  };
  let planned: { argv: string[]; stdin: string };
  try {
    planned = adapter.plan(invocation, command);
  } catch (error) {
    if (error instanceof ExecutorConfigError) throw failure('INVALID_RUN', error.message);
    throw error;
  }
  const { argv, stdin } = planned;
  const extraEnv = adapter.prepare ? await adapter.prepare(invocation) : {};
  // Adapters that understand their executor's output report structured events line by line.
  let pendingLine = '';
  const onStdout = adapter.parseLine
    ? (text: string): void => {
        const lines = (pendingLine + text).split('\n');
        pendingLine = lines.pop() ?? '';
        for (const line of lines) {
          for (const event of adapter.parseLine!(line)) {
            if (event.kind === 'session_started' && typeof event.data.session_id === 'string') {
              // Bound to the run as soon as the executor reports it: a resumed attempt continues it.
              progress.session_id = event.data.session_id;
              heartbeat(progress);
              deps.client.workflow
                .getHandle(runWorkflowId(request.run_id))
                .signal(executorSessionSignal, { session_id: event.data.session_id })
                .catch((error: unknown) => {
                  context.log.warn('could not report the executor session', { error });
                });
            }
            emit(event.kind, event.data);
          }
        }
      }
    : (text: string): void => emit('terminal_chunk', { stream: 'stdout', text });

  const timeouts = [requestTimeout, configNumber(executor.config, 'timeout_seconds')].filter((value): value is number => value !== undefined);
  const timeoutSeconds = timeouts.length ? Math.min(...timeouts) : undefined;
  const abort = new AbortController();
  let timedOut = false;
  const timer = timeoutSeconds
    ? setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutSeconds * 1000)
    : undefined;
  const onCancel = (): void => abort.abort();
  context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  const beat = setInterval(() => heartbeat(progress), HEARTBEAT_INTERVAL_MS);
  const startedAt = Date.now();
  let outcome: ProcessOutcome;
  try {
    outcome = await (adapter.terminal === 'pty' ? runInPty : runProcess)({
      argv,
      stdin,
      env: { ...process.env, ...extraEnv },
      cwd: workspace.dir,
      signal: abort.signal,
      killGraceMs: deps.killGraceMs,
      onStdout,
      onStderr: (text) => emit('terminal_chunk', { stream: 'stderr', text }),
      onStart: (pid) => {
        progress.pid = pid;
        heartbeat(progress);
        emit('session_started', { pid, attempt, executor_type: executor.type, runner_id: registration.runner_id, ...(sessionId ? { session_id: sessionId } : {}) });
        deps.client.workflow
          .getHandle(runWorkflowId(request.run_id))
          .signal(executorStartedSignal, {
            pid,
            started_at: new Date().toISOString(),
            attempt,
            ...(previous && sessionId ? { resumed_session: sessionId } : {}),
          })
          .catch((error: unknown) => {
            context.log.warn('could not report executor start', { error });
          });
      },
    });
  } catch (error) {
    if (error instanceof ProcessStartError) throw failure('EXECUTOR_NOT_FOUND', error.message);
    throw error;
  } finally {
    clearInterval(beat);
    if (timer) clearTimeout(timer);
    context.cancellationSignal.removeEventListener('abort', onCancel);
  }
  emit('session_ended', {
    exit_code: outcome.exitCode,
    signal: outcome.signal,
    duration_ms: Date.now() - startedAt,
    outcome: timedOut ? 'timed_out' : outcome.aborted ? 'stopped' : outcome.exitCode === 0 ? 'exited' : 'failed',
  });
  if (outcome.aborted && !timedOut && context.cancellationDetails?.workerShutdown) {
    // The run goes to another runner; this worktree stays until it is pruned.
    throw failure(RUNNER_SHUTDOWN, `runner ${registration.runner_id} shut down`);
  }

  const summary = await summarise(deps, request, workspace, emit);
  const postRuns = await runHooks(deps.hooks, 'post_run', { ...hookInput, outcome: { exit_code: outcome.exitCode, aborted: outcome.aborted, timed_out: timedOut }, workspace: summary }, registration.project_dir);
  for (const hookRun of postRuns) {
    emit('hook_run', { ...hookRun });
    deps.log.hook(hookRun);
    if (!hookRun.passed) emit('alert', { message: describeHookFailure(hookRun) });
  }

  if (timedOut) throw failure('RUN_TIMEOUT', `run exceeded its timeout of ${timeoutSeconds}s; its processes were ended`);
  if (outcome.aborted) throw new CancelledFailure('executor stopped; its processes have exited');
  const output = adapter.interpret(outcome, invocation);
  if (output.status === 'failed') {
    throw ApplicationFailure.create({
      type: 'EXECUTOR_FAILED',
      nonRetryable: true,
      message: output.error ?? 'executor failed',
      details: [{ exit_code: outcome.exitCode, stderr_tail: outcome.stderr.slice(-4000), workspace: summary }],
    });
  }
  return {
    exit_code: outcome.exitCode,
    ...(output.result_data !== undefined ? { result_data: output.result_data } : {}),
    ...(output.session_id ? { session_id: output.session_id } : {}),
    ...(summary ? { workspace: summary } : {}),
    stdout_tail: outcome.stdout.slice(-4000),
    stderr_tail: outcome.stderr.slice(-4000),
  };
}

/**
 * A procedural run's command: its synced script, checked to be installed at the version the run was
 * validated against (behind the profile's `command`, an interpreter such as `uv run --script`, when
 * it has one), or the agent's runner-local command, relative to the project dir.
 */
async function proceduralCommand(registration: RunnerRegistration, request: ExecuteRequest): Promise<string[]> {
  const { script } = request;
  if (!script) {
    const [executable, ...args] = request.command!;
    return [executable!.includes('/') ? path.resolve(registration.project_dir, executable!) : executable!, ...args];
  }
  const installed = await readInstalledScript(registration.project_dir, script.name);
  if (installed?.version !== script.version) {
    const have = installed ? `version ${installed.version.slice(0, 12)} is installed` : 'it is not installed';
    throw failure('EXECUTOR_NOT_FOUND', `script ${script.name} version ${script.version.slice(0, 12)} is not on runner ${registration.runner_id}: ${have}`);
  }
  return [...(registration.executor.command ?? []), installedScriptPath(registration.project_dir, script)];
}

/** Commits and summarises the work, emits `file_touched` and `diff_summary`, and cleans up. */
async function summarise(
  deps: ExecuteDependencies,
  request: ExecuteRequest,
  workspace: Workspace,
  emit: (kind: Parameters<EventSpool['emit']>[2], data: Record<string, unknown>) => void,
): Promise<WorkspaceSummary | undefined> {
  const config = deps.registration.executor.config;
  try {
    const outcome = await finishWorkspace(workspace, request.run_id, {
      commit: config.commit_uncommitted !== false,
      remove: config.keep_worktree !== true,
    });
    if (outcome.diff) {
      for (const file of outcome.diff.files) emit('file_touched', { ...file });
      emit('diff_summary', { ...outcome.diff, branch: outcome.branch, base_commit: outcome.base_commit, head_commit: outcome.head_commit });
    }
    return outcome;
  } catch (error) {
    emit('alert', { message: `could not summarise the workspace: ${(error as Error).message}` });
    return undefined;
  }
}

import { SpanStatusCode, trace } from '@opentelemetry/api';
import { Context, heartbeat } from '@temporalio/activity';
import { TRACER_NAME } from '../../core/observability/tracing.js';
import { runFailure } from '../../core/contract/failures.js';
import type { Redactor } from '../../core/contract/secrets.js';
import type { ExecutorUser } from '../containment/executor-user.js';
import { ContainmentError, type RunContainer } from '../containment/run-container.js';
import { ProcessStartError, STOP_NOW, runProcess, type ProcessOutcome, type StdinChannel } from '../executors/process.js';
import { runInPty } from '../executors/pty-process.js';
import type { ExecuteProgress } from './context.js';
import type { Launch } from './launch.js';
import { RunClock } from './run-clock.js';
import type { TemporalContact } from './temporal-contact.js';

const HEARTBEAT_INTERVAL_MS = 1_000;
/**
 * The fence: a runner that has not reached Temporal for its heartbeat timeout less this margin
 * ends the run's processes (SIGTERM, then a kill after FENCE_GRACE_MS), so they are gone before
 * Temporal can time the attempt out and hand the run to another runner (that takes the heartbeat
 * timeout, a retry interval and the dispatch timeout after the last heartbeat it received).
 */
const FENCE_MARGIN_MS = 4_000;
const FENCE_GRACE_MS = 1_000;
/** The workflow's heartbeat timeout, should the activity's info not carry one. */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000;

export interface SupervisionSpec {
  launch: Launch;
  cwd: string;
  /** The unprivileged user the executor runs as, if not the runner's own. */
  runAs?: ExecutorUser;
  /** Holds the executor and everything it starts; a stop or the timeout ends all of it. */
  container: RunContainer;
  /** The executor's stdout and stderr are redacted as streams with it, before anything else sees them. */
  redactor: Redactor;
  killGraceMs: number;
  /** When the runner last reached Temporal: cut off for too long, it ends the run (the fence). */
  contact?: TemporalContact;
  /** The run's own limit, if any; reaching it ends the process group. */
  timeoutSeconds?: number;
  /** Sent with every heartbeat: what a retried attempt needs. */
  progress: ExecuteProgress;
  onStdout: (text: string) => void;
  onStderr: (text: string) => void;
  onStart: (pid: number) => void;
  /** A supervised run's conversation: its stdin kept open, its raw stdout read, its clock paused while it waits for a person. */
  conversation?: {
    onStdin: (stdin: StdinChannel) => void;
    onRawStdout: (text: string) => void;
    onClock: (clock: RunClock | undefined) => void;
  };
  /** Once the process runs: what the runner command path does to it (pause, resume, stop, terminal input). */
  onControls?: (controls: ProcessControls) => void;
}

/** What the runner can do to a started executor's processes, whatever its type. */
export interface ProcessControls {
  /** Freezes every process of the run and stops its clock; false when it already was paused. */
  pause(): boolean;
  /** Thaws them and lets the clock go on; false when it was not paused. */
  resume(): boolean;
  /** SIGTERM then a kill after the grace, or (graceful false) a kill at once; a paused run is thawed so SIGTERM reaches it. */
  stop(graceful: boolean): void;
  /** The executor's terminal, where it runs on one (procedural runs): input is typed there. */
  terminal?: StdinChannel;
}

export interface SupervisedOutcome {
  outcome: ProcessOutcome;
  timedOut: boolean;
  /** Ended by the fence: the runner lost Temporal for so long that the run may be handed over. */
  cutOffMs?: number;
  durationMs: number;
}

/**
 * Runs the executor in its container (its own cgroup, else its process group and the descendants
 * found), heartbeating its progress. Cancelling the activity (a stop) or reaching the timeout ends
 * every process of the run; this returns only once they are all gone.
 */
export async function superviseExecutor(spec: SupervisionSpec): Promise<SupervisedOutcome> {
  const context = Context.current();
  const { launch, progress } = spec;
  const abort = new AbortController();
  let timedOut = false;
  // The run's own clock enforces its timeout; it stands still while the run waits for a person.
  const timer = spec.timeoutSeconds
    ? new RunClock(spec.timeoutSeconds * 1000, () => {
        timedOut = true;
        abort.abort();
      })
    : undefined;
  spec.conversation?.onClock(timer);
  const onCancel = (): void => abort.abort();
  context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  const fenceAfterMs = (context.info.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS) - FENCE_MARGIN_MS;
  let cutOffMs: number | undefined;
  let fenceKill: NodeJS.Timeout | undefined;
  const beat = setInterval(() => {
    heartbeat(progress);
    const silence = spec.contact?.silentForMs() ?? 0;
    if (cutOffMs === undefined && silence > fenceAfterMs) {
      cutOffMs = silence;
      abort.abort();
      fenceKill = setTimeout(() => spec.container.kill(), FENCE_GRACE_MS);
    }
  }, HEARTBEAT_INTERVAL_MS);
  let paused = false;
  let terminal: StdinChannel | undefined;
  const controls: ProcessControls = {
    pause: () => {
      if (paused || abort.signal.aborted) return false;
      spec.container.freeze();
      timer?.pause();
      paused = true;
      return true;
    },
    resume: () => {
      if (!paused) return false;
      paused = false;
      spec.container.thaw();
      timer?.resume();
      return true;
    },
    stop: (graceful) => {
      abort.abort(graceful ? undefined : STOP_NOW);
      // A frozen process keeps SIGTERM pending until it runs again; a kill needs no thaw.
      if (paused && graceful) controls.resume();
    },
    get terminal() {
      return terminal;
    },
  };
  const startedAt = Date.now();
  // A child of the execute activity's span (the tracing interceptor makes it the active one): ends once the process exists.
  const spawnSpan = trace.getTracer(TRACER_NAME).startSpan('executor spawn', {
    attributes: { 'ao.workflow_id': context.info.workflowExecution?.workflowId ?? '', 'ao.executor.command': launch.argv[0] ?? '', 'ao.executor.terminal': launch.adapter.terminal ?? 'pipes' },
  });
  try {
    const outcome = await (launch.adapter.terminal === 'pty' ? runInPty : runProcess)({
      argv: launch.argv,
      stdin: launch.stdin,
      env: launch.env,
      cwd: spec.cwd,
      ...(spec.runAs ? { runAs: spec.runAs } : {}),
      ...(launch.networkNamespace ? { networkNamespace: launch.networkNamespace } : {}),
      container: spec.container,
      redactor: spec.redactor,
      signal: abort.signal,
      killGraceMs: spec.killGraceMs,
      onStdout: spec.onStdout,
      onStderr: spec.onStderr,
      ...(spec.conversation
        ? { openStdin: spec.conversation.onStdin, onRawStdout: spec.conversation.onRawStdout }
        : launch.adapter.terminal === 'pty'
          ? { openStdin: (channel: StdinChannel) => void (terminal = channel) }
          : {}),
      onStart: (pid) => {
        spawnSpan.setAttribute('process.pid', pid);
        spawnSpan.end();
        progress.pid = pid;
        heartbeat(progress);
        spec.onStart(pid);
        spec.onControls?.(controls);
      },
    });
    return { outcome, timedOut, ...(cutOffMs !== undefined ? { cutOffMs } : {}), durationMs: Date.now() - startedAt };
  } catch (error) {
    if (spawnSpan.isRecording()) {
      spawnSpan.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      spawnSpan.end();
    }
    if (error instanceof ProcessStartError) throw runFailure('EXECUTOR_NOT_FOUND', error.message);
    if (error instanceof ContainmentError) throw runFailure('EXECUTOR_FAILED', error.message);
    throw error;
  } finally {
    clearInterval(beat);
    timer?.stop();
    if (fenceKill) clearTimeout(fenceKill);
    context.cancellationSignal.removeEventListener('abort', onCancel);
    try {
      // Also when the executor never started (a missing command): its cgroup goes.
      spec.container.release();
    } catch {
      // Something still lives in it: the next attempt or the runner's next start ends it.
    }
  }
}

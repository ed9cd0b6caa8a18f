import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Redactor, StreamRedactor } from '../../core/contract/secrets.js';
import { runAsPrefix, type ExecutorUser } from '../containment/executor-user.js';
import { ContainmentError, ProcessGroupContainer, signalGroup, type RunContainer } from '../containment/run-container.js';

export interface ProcessSpec {
  /** Executable and arguments: never a shell string. */
  argv: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  /**
   * Set, stdin stays open after `stdin` is written (a conversation's protocol): the callback gets
   * the way to write more and to close it. On a terminal (`runInPty`) it is the terminal's input.
   */
  openStdin?: (stdin: StdinChannel) => void;
  /** The executor's stdout before redaction, for a driver that must answer with what it received; never shown. */
  onRawStdout?: (chunk: string) => void;
  /** Aborting ends every process of the run: SIGTERM, then a kill after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs?: number;
  /** What holds the process and all it starts; default: its process group only. */
  container?: RunContainer;
  /** Redacts stdout and stderr as streams before anything sees them (callbacks, tails). */
  redactor?: Redactor;
  /** The unprivileged user the process runs as (the runner's own user when unset). */
  runAs?: ExecutorUser;
  /** Set: the process runs in a network namespace of its own (`network: restricted`): this argv prefix, before the user is dropped. */
  networkNamespace?: string[];
  onStart?: (pid: number) => void;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

/** An executor's stdin kept open. */
export interface StdinChannel {
  write(text: string): void;
  end(): void;
}

export interface ProcessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  aborted: boolean;
}

export class ProcessStartError extends Error {
  constructor(readonly executable: string, readonly code: string | undefined, message: string) {
    super(message);
    this.name = 'ProcessStartError';
  }
}

/** What the gate exits with when the runner went away before letting the process run. */
export const GATE_CLOSED_EXIT_CODE = 125;
/** `$0` of the gate, as `ps` shows it while the process waits there. */
export const GATE_NAME = 'ao-gate';
/**
 * A constant launcher, never built from input: the command arrives as positional arguments. It
 * waits for one line on fd 3, which the runner writes once the process is contained, then execs
 * the command (same pid, fd 3 closed).
 */
const PIPE_GATE = `read -r _ <&3 || exit ${GATE_CLOSED_EXIT_CODE}; exec "$@" 3<&-`;

/** The launcher's argv, behind `setpriv` when the process runs as another user, and in its own network namespace when asked. */
export const asUser = (user: ExecutorUser | undefined, argv: string[], networkNamespace: string[] = []): [string, ...string[]] =>
  [...networkNamespace, ...(user ? runAsPrefix(user) : []), ...argv] as [string, ...string[]];

/** Keeps the last `limit` characters of a stream: enough for results and error causes, bounded in memory. */
export class Tail {
  private text = '';
  constructor(private readonly limit: number) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }
  toString(): string {
    return this.text;
  }
}

/** One output stream of a process: redacted as a stream, then kept as a tail and passed on. */
export class OutputStream {
  private readonly tail: Tail;
  private readonly filter: StreamRedactor | undefined;

  constructor(limit: number, redactor: Redactor | undefined, private readonly onText?: (text: string) => void, private readonly forTail = (text: string): string => text) {
    this.tail = new Tail(limit);
    this.filter = redactor?.stream();
  }

  push(chunk: string): void {
    this.pass(this.filter ? this.filter.push(chunk) : chunk);
  }

  /** The stream closed: what redaction held back goes out. */
  end(): void {
    if (this.filter) this.pass(this.filter.end());
  }

  toString(): string {
    return this.tail.toString();
  }

  private pass(text: string): void {
    if (!text) return;
    this.tail.push(this.forTail(text));
    this.onText?.(text);
  }
}

/**
 * Checks that `executable` can be started (as spawn would find it: relative to `cwd` when it has
 * a slash, else on the environment's PATH), since behind the gate a missing one would only be
 * the shell's exit code 127.
 */
export function assertExecutable(executable: string, env: NodeJS.ProcessEnv, cwd: string): void {
  const candidates = executable.includes('/')
    ? [path.resolve(cwd, executable)]
    : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, executable));
  for (const candidate of candidates) {
    try {
      if (!fs.statSync(candidate).isFile()) continue;
      fs.accessSync(candidate, fs.constants.X_OK);
      return;
    } catch {
      // Not this one.
    }
  }
  throw new ProcessStartError(executable, 'ENOENT', `cannot start ${executable}: spawn ${executable} ENOENT`);
}

/** The abort reason of a stop that skips the grace period (`stop { graceful: false }`): a kill at once. */
export const STOP_NOW = 'ao-stop-now';

export interface GroupStopper {
  /** Whether the abort signal ended (or began ending) the run's processes. */
  aborted(): boolean;
  /** Stops listening, and kills what is left: descendants that outlived the process. */
  finish(): void;
}

/**
 * Ends a started run's processes when `signal` aborts: SIGTERM to all of them, then a kill after
 * `graceMs`, or a kill at once when the abort's reason is `STOP_NOW`. Both `runProcess` and
 * `runInPty` stop their processes this way.
 */
export function stopOnAbort(container: RunContainer, signal: AbortSignal | undefined, graceMs = 5_000): GroupStopper {
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    if (aborted) return;
    aborted = true;
    if (signal?.reason === STOP_NOW) return container.kill();
    container.signal('SIGTERM');
    killTimer = setTimeout(() => container.kill(), graceMs);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    aborted: () => aborted,
    finish: () => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      container.kill();
    },
  };
}

/** Kills what is left, waits until nothing of the run lives, and lets the container go. */
export async function endContainer(stopper: GroupStopper | undefined, container: RunContainer): Promise<void> {
  stopper?.finish();
  if (!stopper) container.kill();
  if (!(await container.waitEmpty())) throw new ContainmentError('processes of the run were still alive 10 s after they were killed');
  container.release();
}

/**
 * Runs one executor process in its own process group and session, held at a gate until its
 * container has taken it in, so a stop reaches everything it starts. Resolves once the process
 * has exited, its output streams closed and every process of the run is gone.
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  const [executable] = spec.argv;
  if (!executable) return Promise.reject(new ProcessStartError('', undefined, 'empty command'));
  const container = spec.container ?? new ProcessGroupContainer();
  const env = { ...(spec.env ?? process.env), ...container.env };
  try {
    assertExecutable(executable, env, spec.cwd);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return new Promise((resolve, reject) => {
    const stdout = new OutputStream(256 * 1024, spec.redactor, spec.onStdout);
    const stderr = new OutputStream(64 * 1024, spec.redactor, spec.onStderr);
    let stopper: GroupStopper | undefined;
    let refused: ContainmentError | undefined;
    const [launcher, ...launcherArgs] = asUser(spec.runAs, ['/bin/sh', '-c', PIPE_GATE, GATE_NAME, ...spec.argv], spec.networkNamespace);
    const child = spawn(launcher, launcherArgs, {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    child.once('spawn', () => {
      const pid = child.pid!;
      try {
        container.admit(pid);
      } catch (error) {
        // Still at the gate: it has run nothing.
        refused = error as ContainmentError;
        signalGroup(pid, 'SIGKILL');
        return;
      }
      (child.stdio[3] as Writable).end('go\n');
      spec.onStart?.(pid);
      stopper = stopOnAbort(container, spec.signal, spec.killGraceMs);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new ProcessStartError(executable, error.code, `cannot start ${executable}: ${error.message}`));
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      spec.onRawStdout?.(chunk);
      stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    // An executor that exits without reading stdin must not crash the runner with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdio[3]?.on('error', () => undefined);
    if (spec.openStdin) {
      child.stdin.write(spec.stdin ?? '');
      spec.openStdin({ write: (text) => void child.stdin.write(text), end: () => child.stdin.end() });
    } else {
      child.stdin.end(spec.stdin ?? '');
    }
    child.once('close', (exitCode, signal) => {
      stdout.end();
      stderr.end();
      // Descendants that outlived the executor are ended with it, and waited for: a run ends
      // only once its processes are gone.
      void endContainer(stopper, container).then(() => {
        if (refused) reject(refused);
        else resolve({ exitCode, signal, stdout: stdout.toString(), stderr: stderr.toString(), aborted: stopper?.aborted() ?? false });
      }, reject);
    });
  });
}

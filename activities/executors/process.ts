import { spawn } from 'node:child_process';
import fs from 'node:fs';

export interface ProcessSpec {
  /** Executable and arguments: never a shell string. */
  argv: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  /** Aborting ends the whole process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs?: number;
  onStart?: (pid: number) => void;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
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

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Whether any live (non-zombie) process is left in the group; zombies wait for a reaper, not for us. */
export function groupIsAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command: state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pid && state !== 'Z') return true;
  }
  return false;
}

/** Resolves once no process of the group is left (a killed process is gone when the kernel reaps it). */
export async function waitForGroupExit(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupIsAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

export interface GroupStopper {
  /** Whether the abort signal ended (or began ending) the group. */
  aborted(): boolean;
  /** Stops listening, and kills what is left of the group: grandchildren that outlived the process. */
  finish(): void;
}

/**
 * Ends a started process group when `signal` aborts: SIGTERM to the group, then SIGKILL after
 * `graceMs`. Both `runProcess` and `runInPty` stop their processes this way.
 */
export function stopGroupOnAbort(pid: number, signal: AbortSignal | undefined, graceMs = 5_000): GroupStopper {
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    if (aborted) return;
    aborted = true;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    aborted: () => aborted,
    finish: () => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      killGroup(pid, 'SIGKILL');
    },
  };
}

/**
 * Runs one executor process in its own process group, so a stop reaches its grandchildren too.
 * Resolves once the process has exited and its output streams closed.
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  const [executable, ...args] = spec.argv;
  if (!executable) return Promise.reject(new ProcessStartError('', undefined, 'empty command'));
  return new Promise((resolve, reject) => {
    const stdout = new Tail(256 * 1024);
    const stderr = new Tail(64 * 1024);
    let stopper: GroupStopper | undefined;
    const child = spawn(executable, args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.once('spawn', () => {
      spec.onStart?.(child.pid!);
      stopper = stopGroupOnAbort(child.pid!, spec.signal, spec.killGraceMs);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new ProcessStartError(executable, error.code, `cannot start ${executable}: ${error.message}`));
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout.push(chunk);
      spec.onStdout?.(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk);
      spec.onStderr?.(chunk);
    });
    // An executor that exits without reading stdin must not crash the runner with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin ?? '');
    child.once('close', (exitCode, signal) => {
      // Grandchildren that outlived the executor are ended with it, and waited for: a run ends
      // only once its processes are gone.
      stopper?.finish();
      void waitForGroupExit(child.pid!).then(() =>
        resolve({ exitCode, signal, stdout: stdout.toString(), stderr: stderr.toString(), aborted: stopper?.aborted() ?? false }),
      );
    });
  });
}

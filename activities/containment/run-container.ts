import { setTimeout as sleep } from 'node:timers/promises';
import type { Cgroup } from './cgroup.js';
import { listProcesses, processesWithEnv, readProcess, signalProcess, stillRuns } from './proc.js';

const POLL_MS = 20;
/** How often the fallback looks for new descendants while a run lives. */
const SCAN_INTERVAL_MS = 250;
/** Set in a run's environment where there is no cgroup: a scan finds its processes by it. */
export const CONTAINMENT_MARKER = 'AO_CONTAINMENT_MARKER';

/** What a scan of environments looks for: exactly this run's marker. */
export const markerEntry = (marker: string): string => `${CONTAINMENT_MARKER}=${marker}\0`;

export class ContainmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainmentError';
  }
}

/**
 * What holds one run's processes, from the moment its first process exists until every one of
 * them is gone. The executor is spawned held at a gate (a constant `sh` launcher that waits for
 * one line, see `executors/process.ts`); `admit` takes it in before the gate opens, so nothing it
 * starts is ever outside.
 */
export interface RunContainer {
  /** Added to the executor's environment. */
  readonly env: Record<string, string>;
  /** The run's cgroup, when it has one: a retried attempt ends what is left in it. */
  readonly cgroup?: string;
  /** Takes in the just-spawned process, still held at its gate; throws `ContainmentError` if it cannot. */
  admit(pid: number): void;
  /** Sends `signal` to every process of the run. */
  signal(signal: NodeJS.Signals): void;
  /** Kills every process of the run. */
  kill(): void;
  /** Freezes every process of the run (a pause); `thaw` lets them go on. */
  freeze(): void;
  thaw(): void;
  /** Resolves true once no process of the run is left (false after `timeoutMs`). */
  waitEmpty(timeoutMs?: number): Promise<boolean>;
  /** Lets go of the run (removes its cgroup, stops scanning); after `waitEmpty`. */
  release(): void;
}

/** Signals a process group; a group that is gone is no error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalProcess(-pgid, signal);
}

/** Whether any live (non-zombie) process is left in the group; zombies wait for a reaper, not for us. */
export function groupIsAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  return listProcesses().some((entry) => entry.pgrp === pgid && entry.state !== 'Z');
}

/** Resolves true once `done()` holds, false after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * A run in its own cgroup: membership is inherited by every fork and not left by a new session
 * or process group, so `cgroup.kill` ends all of it and `populated 0` says it is all gone.
 */
export class CgroupContainer implements RunContainer {
  readonly env = {};
  private root: number | undefined;

  constructor(private readonly group: Cgroup) {}

  get cgroup(): string {
    return this.group.dir;
  }

  admit(pid: number): void {
    this.root = pid;
    try {
      this.group.enter(pid);
    } catch (error) {
      throw new ContainmentError(`could not move the executor into cgroup ${this.group.dir}: ${(error as Error).message}`);
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.root) signalGroup(this.root, signal);
    for (const pid of this.group.members()) signalProcess(pid, signal);
  }

  kill(): void {
    this.group.kill();
  }

  /** The cgroup freezer where the kernel has it (nothing can slip out between signals), else SIGSTOP to every member. */
  freeze(): void {
    if (this.group.canFreeze()) this.group.setFrozen(true);
    else this.signal('SIGSTOP');
  }

  thaw(): void {
    if (this.group.canFreeze()) this.group.setFrozen(false);
    else this.signal('SIGCONT');
  }

  waitEmpty(timeoutMs = 10_000): Promise<boolean> {
    return this.group.waitEmpty(timeoutMs);
  }

  release(): void {
    this.group.remove();
  }
}

/**
 * The fallback where the runner may not make cgroups: the executor's process group and session,
 * plus every descendant recorded while the run lives (a scan of /proc by parent, so one that
 * calls setsid is still known) and every process that carries the run's marker in its environment
 * (so an orphan of a double fork is found even after its parent is gone). A process that both
 * leaves between two scans and clears its environment escapes it: only a cgroup closes that.
 */
export class ProcessGroupContainer implements RunContainer {
  readonly env: Record<string, string>;
  private root: number | undefined;
  /** pid → start time of every process known to belong to the run. */
  private readonly members = new Map<number, string>();
  private scanner: NodeJS.Timeout | undefined;

  /** `marker` undefined: the process group only (hooks, which are the operator's own programs). */
  constructor(private readonly marker?: string) {
    this.env = marker ? { [CONTAINMENT_MARKER]: marker } : {};
  }

  admit(pid: number): void {
    this.root = pid;
    if (!this.marker) return;
    this.record();
    this.scanner = setInterval(() => this.record(), SCAN_INTERVAL_MS);
    this.scanner.unref();
  }

  signal(signal: NodeJS.Signals): void {
    if (this.root) signalGroup(this.root, signal);
    if (!this.marker) return;
    this.record();
    for (const pid of processesWithEnv(markerEntry(this.marker))) {
      const entry = readProcess(pid);
      if (entry) this.members.set(pid, entry.startTime);
    }
    for (const [pid, startTime] of this.members) if (stillRuns(pid, startTime)) signalProcess(pid, signal);
  }

  kill(): void {
    this.signal('SIGKILL');
  }

  /** SIGSTOP to the group and every descendant found: a process started between two scans may run on (only a cgroup closes that). */
  freeze(): void {
    this.signal('SIGSTOP');
  }

  thaw(): void {
    this.signal('SIGCONT');
  }

  waitEmpty(timeoutMs = 10_000): Promise<boolean> {
    return until(() => {
      if (this.root && groupIsAlive(this.root)) return false;
      for (const [pid, startTime] of this.members) if (stillRuns(pid, startTime)) return false;
      return true;
    }, timeoutMs);
  }

  release(): void {
    if (this.scanner) clearInterval(this.scanner);
    this.scanner = undefined;
  }

  /** Adds every process whose parent, process group or session belongs to the run. */
  private record(): void {
    if (!this.root) return;
    const processes = new Map(listProcesses().map((entry) => [entry.pid, entry]));
    const root = processes.get(this.root);
    if (root && !this.members.has(root.pid)) this.members.set(root.pid, root.startTime);
    for (let grew = true; grew; ) {
      grew = false;
      for (const entry of processes.values()) {
        if (this.members.has(entry.pid) || entry.state === 'Z') continue;
        // The parent must be the recorded process itself, not a later one that got its pid.
        const parentIsMember = this.members.has(entry.ppid) && this.members.get(entry.ppid) === processes.get(entry.ppid)?.startTime;
        const related = parentIsMember || entry.pgrp === this.root || entry.session === this.root;
        if (related) {
          this.members.set(entry.pid, entry.startTime);
          grew = true;
        }
      }
    }
    for (const [pid, startTime] of this.members) if (!stillRuns(pid, startTime)) this.members.delete(pid);
  }
}

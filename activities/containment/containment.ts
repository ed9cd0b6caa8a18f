import path from 'node:path';
import { CONTAINMENT_KINDS, type RunnerContainment } from '../../core/contract/fleet.js';
import { Cgroup, runnerCgroup } from './cgroup.js';
import { processesWithEnv, readProcess, signalProcess, stillRuns } from './proc.js';
import { CONTAINMENT_MARKER, CgroupContainer, ProcessGroupContainer, groupIsAlive, markerEntry, signalGroup, until, type RunContainer } from './run-container.js';
import { startWatchdog, type Watchdog } from './watchdog.js';

/** The runner's choice: `auto` takes a cgroup where it may make one and falls back otherwise. */
export const CONTAINMENT_MODES = ['auto', ...CONTAINMENT_KINDS] as const;
export type ContainmentMode = (typeof CONTAINMENT_MODES)[number];

/** What a crashed earlier attempt of a run reported in its heartbeats. */
export interface PreviousAttempt {
  pid?: number;
  cgroup?: string;
}

/** How one runner holds the processes of all its runs. */
export interface Containment {
  /** What the runner registers: `GET /runners` shows it. */
  readonly info: RunnerContainment;
  /** A container for one run's executor, nothing of an earlier attempt left in it. */
  forRun(runId: string): Promise<RunContainer>;
  /** Ends what a crashed earlier attempt of the run on this runner left running. */
  endPreviousAttempt(runId: string, previous: PreviousAttempt): Promise<void>;
  /** Ends what an earlier instance of this runner left running; answers how many processes or cgroups it ended. */
  endLeftovers(): Promise<number>;
  /** The runner is stopping cleanly, its runs ended: the watchdog lets go. */
  close(): void;
}

export class ContainmentUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`cgroup containment is not available: ${reason}`);
    this.name = 'ContainmentUnavailableError';
  }
}

/**
 * Sets up the runner's containment: a cgroup per run under `<base>/ao/<runner id>` where this
 * process may manage cgroups (root, or a delegated subtree), else the process-group fallback.
 * Either way a watchdog ends the runner's runs should the runner die.
 */
export function setUpContainment(options: { runnerId: string; mode: ContainmentMode; log: (message: string) => void }): Containment {
  if (options.mode === 'process-group') return new ProcessGroupContainment(options.runnerId, 'chosen with --containment process-group', options.log);
  const found = runnerCgroup(options.runnerId);
  if ('cgroup' in found) return new CgroupContainment(found.cgroup, options.log);
  if (options.mode === 'cgroup') throw new ContainmentUnavailableError(found.reason);
  return new ProcessGroupContainment(options.runnerId, found.reason, options.log);
}

class CgroupContainment implements Containment {
  readonly info: RunnerContainment;
  private readonly watchdog: Watchdog;

  constructor(private readonly runner: Cgroup, log: (message: string) => void) {
    this.info = { kind: 'cgroup', cgroup: runner.dir };
    this.watchdog = startWatchdog('cgroup', runner.dir, log);
  }

  async forRun(runId: string): Promise<RunContainer> {
    const group = new Cgroup(path.join(this.runner.dir, runId));
    if (group.exists()) await endOrThrow(group);
    group.create();
    return new CgroupContainer(group);
  }

  async endPreviousAttempt(runId: string, previous: PreviousAttempt): Promise<void> {
    // Only a cgroup of this runner's own: heartbeat details are data, not a licence to kill.
    const own = previous.cgroup && path.dirname(previous.cgroup) === this.runner.dir ? new Cgroup(previous.cgroup) : new Cgroup(path.join(this.runner.dir, runId));
    if (own.exists()) await endOrThrow(own);
    // An attempt from before this runner had cgroups: its process group.
    if (previous.pid && !previous.cgroup) await endGroup(previous.pid);
  }

  async endLeftovers(): Promise<number> {
    let ended = 0;
    for (const group of this.runner.children()) {
      if (group.populated()) ended += 1;
      await endOrThrow(group);
    }
    return ended;
  }

  close(): void {
    this.watchdog.close();
  }
}

class ProcessGroupContainment implements Containment {
  readonly info: RunnerContainment;
  private readonly watchdog: Watchdog;

  constructor(private readonly runnerId: string, reason: string, log: (message: string) => void) {
    this.info = { kind: 'process-group', reason };
    // grep pattern for the marker in /proc/*/environ (runner ids are letters, digits, `.`, `_`, `-`).
    this.watchdog = startWatchdog('marker', `^${CONTAINMENT_MARKER}=${runnerId.replace(/\./g, '\\.')}/`, log);
  }

  forRun(runId: string): Promise<RunContainer> {
    return Promise.resolve(new ProcessGroupContainer(this.marker(runId)));
  }

  async endPreviousAttempt(runId: string, previous: PreviousAttempt): Promise<void> {
    await endMarked(markerEntry(this.marker(runId)));
    if (previous.pid) await endGroup(previous.pid);
  }

  endLeftovers(): Promise<number> {
    return endMarked(`${CONTAINMENT_MARKER}=${this.runnerId}/`);
  }

  close(): void {
    this.watchdog.close();
  }

  private marker(runId: string): string {
    return `${this.runnerId}/${runId}`;
  }
}

async function endOrThrow(group: Cgroup): Promise<void> {
  if (!(await group.end())) throw new Error(`processes in cgroup ${group.dir} did not end after cgroup.kill`);
}

async function endGroup(pgid: number): Promise<void> {
  signalGroup(pgid, 'SIGKILL');
  await until(() => !groupIsAlive(pgid));
}

/** SIGKILLs every process whose environment holds `needle`, and waits until they are gone. */
async function endMarked(needle: string): Promise<number> {
  const found = processesWithEnv(needle).flatMap((pid) => {
    const entry = readProcess(pid);
    return entry ? [entry] : [];
  });
  for (const entry of found) signalProcess(entry.pid, 'SIGKILL');
  await until(() => found.every((entry) => !stillRuns(entry.pid, entry.startTime)));
  return found.length;
}

import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where ao keeps its cgroups, under the runner's base: `<base>/ao/<runner id>/<run id>`. */
const AO_CGROUP_DIR = 'ao';
const POLL_MS = 20;

/** The cgroup v2 hierarchy's mount point, from /proc/mounts; undefined without one (v1-only host, macOS). */
export function cgroup2Mount(): string | undefined {
  let mounts: string;
  try {
    mounts = fs.readFileSync('/proc/mounts', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint) return mountPoint.replace(/\\040/g, ' ');
  }
  return undefined;
}

/** This process's own cgroup v2 path (`0::/…` in /proc/self/cgroup). */
export function ownCgroupPath(): string | undefined {
  try {
    const line = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((entry) => entry.startsWith('0::'));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

/** One cgroup v2 directory and the few files ao uses: procs, kill, freeze, events. */
export class Cgroup {
  constructor(readonly dir: string) {}

  exists(): boolean {
    return fs.existsSync(path.join(this.dir, 'cgroup.procs'));
  }

  create(): void {
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** Moves `pid` in; its children are born in it and cannot leave it by setsid or a double fork. */
  enter(pid: number): void {
    fs.writeFileSync(path.join(this.dir, 'cgroup.procs'), String(pid));
  }

  members(): number[] {
    try {
      return fs.readFileSync(path.join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** SIGKILLs every process in it (and in cgroups below it) at once. */
  kill(): void {
    try {
      fs.writeFileSync(path.join(this.dir, 'cgroup.kill'), '1');
    } catch {
      // Removed already: nothing is left to kill.
    }
  }

  /** Whether the kernel offers the freezer here (`cgroup.freeze`, Linux 5.2 or later). */
  canFreeze(): boolean {
    return fs.existsSync(path.join(this.dir, 'cgroup.freeze'));
  }

  /** Freezes (or thaws) every process in it and below it at once; a frozen process still takes SIGKILL. */
  setFrozen(frozen: boolean): void {
    fs.writeFileSync(path.join(this.dir, 'cgroup.freeze'), frozen ? '1' : '0');
  }

  /** `populated 1` in cgroup.events: some process lives in it or below it. */
  populated(): boolean {
    try {
      return /^populated 1$/m.test(fs.readFileSync(path.join(this.dir, 'cgroup.events'), 'utf8'));
    } catch {
      return false;
    }
  }

  /** Resolves true once nothing lives in it, false after `timeoutMs`. */
  async waitEmpty(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.populated()) {
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  /** Removes it once empty; cgroups below it go first. */
  remove(): void {
    if (!fs.existsSync(this.dir)) return;
    for (const child of this.children()) child.remove();
    try {
      fs.rmdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Kills everything in it, waits until it is empty, removes it. */
  async end(timeoutMs?: number): Promise<boolean> {
    this.kill();
    const empty = await this.waitEmpty(timeoutMs);
    if (empty) this.remove();
    return empty;
  }

  children(): Cgroup[] {
    try {
      return fs
        .readdirSync(this.dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => new Cgroup(path.join(this.dir, entry.name)));
    } catch {
      return [];
    }
  }
}

/**
 * The cgroup that holds this runner's runs, `<base>/ao/<runner id>`, where `<base>` is the cgroup
 * this process runs in (the hierarchy's root for a root runner here; the delegated subtree of a
 * user's session otherwise). Undefined with the reason when this process may not manage cgroups.
 */
export function runnerCgroup(runnerId: string): { cgroup: Cgroup } | { reason: string } {
  const mount = cgroup2Mount();
  if (!mount) return { reason: 'no cgroup v2 hierarchy is mounted' };
  const own = ownCgroupPath();
  if (own === undefined) return { reason: 'this process has no cgroup v2 path in /proc/self/cgroup' };
  const base = path.join(mount, own);
  const runner = new Cgroup(path.join(base, AO_CGROUP_DIR, runnerId));
  const probe = new Cgroup(path.join(runner.dir, `probe-${process.pid}`));
  try {
    probe.create();
    if (!fs.existsSync(path.join(probe.dir, 'cgroup.kill'))) return { reason: 'the kernel has no cgroup.kill (Linux 5.14 or later needed)' };
    fs.accessSync(path.join(probe.dir, 'cgroup.procs'), fs.constants.W_OK);
    // Moving a process in needs write access to the cgroup both sides share: this one's.
    fs.accessSync(path.join(base, 'cgroup.procs'), fs.constants.W_OK);
  } catch (error) {
    return { reason: `cannot manage cgroups under ${base}: ${(error as Error).message}` };
  } finally {
    try {
      probe.remove();
    } catch {
      // Left for the next start's cleanup.
    }
  }
  return { cgroup: runner };
}

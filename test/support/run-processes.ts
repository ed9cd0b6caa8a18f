import fs from 'node:fs';

/** A process a test saw, named by pid and start time so a reused pid is not taken for it. */
export interface SeenProcess {
  pid: number;
  startTime: string;
  /** Its cgroup v2 path (`0::…` in /proc/<pid>/cgroup). */
  cgroup: string;
}

function stat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

const read = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/**
 * Every live process, read straight from /proc, that carries `tag` in its environment as
 * `AO_TEST_TAG=<tag>` (the test scripts export it, so their children inherit it) or in its argv
 * as `escapee <tag>` (the echo executor's escapee).
 */
export function processesTagged(tag: string): SeenProcess[] {
  const seen: SeenProcess[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const argv = read(`/proc/${name}/cmdline`).split('\0');
    const environ = read(`/proc/${name}/environ`).split('\0');
    const escapee = argv.indexOf('escapee');
    if (!(escapee !== -1 && argv[escapee + 1] === tag) && !environ.includes(`AO_TEST_TAG=${tag}`)) continue;
    const info = stat(Number(name));
    if (!info || info.state === 'Z') continue;
    const cgroup = read(`/proc/${name}/cgroup`).split('\n').find((line) => line.startsWith('0::'))?.slice(3) ?? '';
    seen.push({ pid: Number(name), startTime: info.startTime, cgroup });
  }
  return seen;
}

/** Those of `seen` that still run. */
export function stillRunning(seen: SeenProcess[]): SeenProcess[] {
  return seen.filter((process) => {
    const info = stat(process.pid);
    return info !== undefined && info.startTime === process.startTime && info.state !== 'Z';
  });
}

/** The runner process's containment watchdog: its child running the `ao-watchdog` script. */
export function watchdogOf(runnerPid: number): number | undefined {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = read(`/proc/${name}/stat`);
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === runnerPid && read(`/proc/${name}/cmdline`).split('\0').includes('ao-watchdog')) return Number(name);
  }
  return undefined;
}

import fs from 'node:fs';

/** One process as `/proc/<pid>/stat` describes it. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** `Z` is a zombie: it has exited and only waits to be reaped. */
  state: string;
  /** Clock ticks after boot at which it started: with the pid, it names one process even after the pid is reused. */
  startTime: string;
  /** Clock ticks of CPU its own threads have used (user + system; not its children's). */
  cpuTicks: number;
}

/** The process `pid`, or undefined when there is none. */
export function readProcess(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is parenthesised and may hold spaces: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]), startTime: fields[19]!, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

export function listProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readProcess(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

/** Whether the process that started at `startTime` as `pid` still runs (a zombie does not). */
export function stillRuns(pid: number, startTime: string): boolean {
  const entry = readProcess(pid);
  return entry !== undefined && entry.startTime === startTime && entry.state !== 'Z';
}

/**
 * Pids of live processes whose environment holds `needle` (`NAME=value…`). Only processes this one
 * may inspect (its own user's, or all as root) are seen.
 */
export function processesWithEnv(needle: string): number[] {
  const found: number[] = [];
  const bytes = Buffer.from(`\0${needle}`);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = Buffer.concat([Buffer.from('\0'), fs.readFileSync(`/proc/${name}/environ`)]);
    } catch {
      continue;
    }
    if (environ.includes(bytes) && readProcess(Number(name))?.state !== 'Z') found.push(Number(name));
  }
  return found;
}

/** Sends `signal`; a process that is already gone is no error. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

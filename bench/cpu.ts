import fs from 'node:fs';
import os from 'node:os';
import { readProcess } from '../activities/containment/proc.js';

/** The kernel's clock ticks per second for /proc CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The bench's long-lived processes by role; whatever else the machine ran (executors, git) is the rest. */
export type CpuRoles = Record<string, number[]>;

interface CpuSnapshot {
  at: number;
  /** CPU seconds the whole machine was busy (every core). */
  machine: number;
  /** CPU seconds each role's processes have used (their own threads, not their children). */
  roles: Record<string, number>;
}

function machineBusySeconds(): number {
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS_PER_SECOND;
}

const processSeconds = (pid: number): number => (readProcess(pid)?.cpuTicks ?? 0) / TICKS_PER_SECOND;

export function cpuSnapshot(roles: CpuRoles): CpuSnapshot {
  return {
    at: Date.now(),
    machine: machineBusySeconds(),
    roles: Object.fromEntries(Object.entries(roles).map(([role, pids]) => [role, pids.reduce((sum, pid) => sum + processSeconds(pid), 0)])),
  };
}

/**
 * Where the CPU went between two snapshots, per run: each role's CPU ms, the rest of the machine's
 * (executors and their children, whatever else ran), and what that total allows on this machine's
 * cores — the rate no dispatch design can beat while each run costs that much CPU.
 */
export function cpuPerRun(before: CpuSnapshot, after: CpuSnapshot, runs: number): string {
  const cores = os.cpus().length;
  const wall = (after.at - before.at) / 1000;
  const busy = after.machine - before.machine;
  const roles = Object.keys(after.roles).map((role) => [role, after.roles[role]! - (before.roles[role] ?? 0)] as const);
  const rest = busy - roles.reduce((sum, [, seconds]) => sum + seconds, 0);
  const perRun = (seconds: number): string => `${((seconds / runs) * 1000).toFixed(0)}`;
  return (
    `CPU per run (ms): ${[...roles, ['executors and the rest', Math.max(0, rest)] as const].map(([role, seconds]) => `${role} ${perRun(seconds)}`).join(', ')}; ` +
    `total ${perRun(busy)} ms, so at most ${(runs / busy * cores).toFixed(1)} runs/s on ${cores} cores; the machine was ${((busy / (wall * cores)) * 100).toFixed(0)} % busy`
  );
}

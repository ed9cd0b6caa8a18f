import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { reachableByExecutor } from './executor-user.js';

/**
 * Gates hold an echo run at a point the test chooses, so "still running when X happens" is a fact
 * the test controls rather than a sleep it hopes is long enough. Each is a file in `dir` (a stack's
 * root): the echo executor polls it, and a held executor whose gate folder is removed gives up.
 */

/** Written whole or not at all: the executor never reads a half-written file. */
async function writeAtomically(file: string, content: string): Promise<void> {
  const temporary = `${file}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temporary, content);
  await fs.rename(temporary, file);
}

async function gateFile(dir: string, label: string): Promise<string> {
  const folder = path.join(dir, 'gates');
  await fs.mkdir(folder, { recursive: true, mode: 0o755 });
  // Executors run as the executor user (the runner is root here): the gate must be where it can look.
  await reachableByExecutor(folder);
  return path.join(folder, `${label}-${crypto.randomBytes(4).toString('hex')}`);
}

/** Holds an echo run before it answers (parameter `wait_for_file`) until `open()`. */
export interface RunGate {
  file: string;
  /** The echo parameters that hold a run at this gate. */
  parameters: { wait_for_file: string };
  open(): Promise<void>;
}

export async function runGate(dir: string): Promise<RunGate> {
  const file = await gateFile(dir, 'run');
  return { file, parameters: { wait_for_file: file }, open: () => writeAtomically(file, 'open\n') };
}

/** Lets an echo run print its ticks (parameter `ticks_allowed_file`) only as far as `allow(count)` says. */
export interface TickGate {
  file: string;
  /** The echo parameters for `ticks` ticks, each held at this gate. */
  parameters: (ticks: number) => { ticks: number; ticks_allowed_file: string };
  /** Ticks 0 to count - 1 may be printed. */
  allow(count: number): Promise<void>;
}

export async function tickGate(dir: string): Promise<TickGate> {
  const file = await gateFile(dir, 'ticks');
  return { file, parameters: (ticks) => ({ ticks, ticks_allowed_file: file }), allow: (count) => writeAtomically(file, `${count}\n`) };
}

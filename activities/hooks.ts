import fs from 'node:fs/promises';
import path from 'node:path';
import { isExecutableFile } from '../core/config/files.js';
import { runProcess } from './executors/process.js';

export const HOOK_NAMES = ['pre_run', 'post_run', 'health_check'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export interface HookSettings {
  /** Folders searched for hooks, in order: the global one (flag or env), then the profile's. */
  dirs: string[];
  timeoutMs: number;
}

export interface HookRun {
  hook: HookName;
  file: string;
  passed: boolean;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  /** The tail of what the hook printed, stdout then stderr. */
  output: string;
}


/** Every executable named `<hook>` or `<hook>.<ext>` in the hook folders, in folder order. */
export async function findHooks(settings: HookSettings, hook: HookName): Promise<string[]> {
  const found: string[] = [];
  for (const dir of settings.dirs) {
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    for (const entry of entries.sort()) {
      if (entry !== hook && !entry.startsWith(`${hook}.`)) continue;
      const file = path.join(dir, entry);
      if (await isExecutableFile(file)) found.push(file);
    }
  }
  return found;
}

/** Runs one hook with `input` as JSON on stdin; it passes on exit 0 within its timeout. */
export async function runHook(hook: HookName, file: string, input: unknown, cwd: string, timeoutMs: number): Promise<HookRun> {
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const outcome = await runProcess({ argv: [file], cwd, stdin: JSON.stringify(input), signal: timeout, killGraceMs: 1_000 });
    const output = `${outcome.stdout}${outcome.stderr}`.trim().slice(-4000);
    return {
      hook,
      file,
      passed: outcome.exitCode === 0 && !outcome.aborted,
      exit_code: outcome.exitCode,
      timed_out: outcome.aborted,
      duration_ms: Date.now() - started,
      output,
    };
  } catch (error) {
    return { hook, file, passed: false, exit_code: null, timed_out: false, duration_ms: Date.now() - started, output: (error as Error).message };
  }
}

/** Runs every hook of this name; stops at the first that fails and returns all runs so far. */
export async function runHooks(settings: HookSettings, hook: HookName, input: unknown, cwd: string): Promise<HookRun[]> {
  const runs: HookRun[] = [];
  for (const file of await findHooks(settings, hook)) {
    const run = await runHook(hook, file, input, cwd, settings.timeoutMs);
    runs.push(run);
    if (!run.passed) break;
  }
  return runs;
}

export function describeHookFailure(run: HookRun): string {
  const why = run.timed_out ? `timed out` : `exited with code ${run.exit_code}`;
  return `${run.hook} hook ${path.basename(run.file)} ${why}${run.output ? `: ${run.output}` : ''}`;
}

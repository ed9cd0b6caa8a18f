import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isExecutableFile } from '../core/config/files.js';

/** Built tools live outside the clone, so every fresh clone on this machine reuses them. */
export function defaultToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AO_TOOLS_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ao', 'tools');
}

/** The first executable called `name` on PATH. */
export async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Gets the output's tail when the command fails. */
  log: (line: string) => void;
}

/** Runs an argv (never a shell string) to its end; resolves with its stdout, rejects on a non-zero exit. */
export function runTool(argv: string[], options: RunOptions): Promise<string> {
  const [command, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let tail = '';
    const keepTail = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      keepTail(chunk);
    });
    child.stderr.on('data', keepTail);
    child.once('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else {
        options.log(tail);
        reject(new Error(`${argv.join(' ')} exited with code ${code}`));
      }
    });
  });
}

/**
 * Builds a tool in a private staging folder, then renames what `build` made there (a file or a
 * folder) to `target`: a concurrent or interrupted build never leaves a half-written tool behind.
 */
export async function buildIntoPlace(target: string, build: (staging: string) => Promise<string>): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = await fs.mkdtemp(path.join(path.dirname(target), '.build-'));
  try {
    const built = await build(staging);
    await fs.rename(built, target).catch((error: NodeJS.ErrnoException) => {
      // Another build of the same folder finished first: its result is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Go, which builds the Temporal tools; `missing` says what cannot be had without it. */
export async function findGo(env: NodeJS.ProcessEnv, missing: string): Promise<string> {
  const go = await onPath('go', env);
  if (!go) throw new Error(`${missing} and Go is not installed to build it: install Go`);
  return go;
}

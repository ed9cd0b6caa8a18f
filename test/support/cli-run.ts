import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { TestProcess } from './process.js';
import { testTime } from './time.js';

/** Running a real agent CLI in a test: fresh folders, a bounded run, its JSON-lines output, and cleanup after each test. */

/** Every CLI run is bounded: killed, and the test failed, past this. */
const runLimitMs = testTime(60_000);

/** One line of a CLI's JSON-lines output. */
export type JsonLine = Record<string, unknown> & { type: string };

export interface CliRun<L extends JsonLine> {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The JSON-lines output (stream-json, `--json`), one parsed object per line. */
  lines: L[];
  stderr: string;
}

export interface CliSpec {
  /** Names the CLI in errors. */
  name: string;
  /** The executable, run directly: never through a shell. */
  command: string;
  args: string[];
  cwd: string;
  /** The CLI's whole environment besides PATH: nothing from the outer one (an API key, a config dir) leaks in. */
  env: NodeJS.ProcessEnv;
  /**
   * Runs it in a process group of its own, which signals and kills reach as a whole: for a CLI that is a launcher
   * plus the process doing the work, where the launcher alone would leave the other running.
   * @defaultValue false
   */
  ownGroup?: boolean;
}

export interface StartedCli<L extends JsonLine> {
  process: TestProcess;
  /** Resolves once the CLI has exited; rejects if it outlived the run limit (it is killed then). */
  finished: Promise<CliRun<L>>;
  /** Signals the CLI: its whole group when it has one of its own. */
  signal: (signal: NodeJS.Signals) => void;
}

/** Per-test resources for CLI tests; `cliHarness()` registers the `afterEach` that releases them. */
export class CliHarness {
  private readonly cleanups: (() => unknown)[] = [];

  /** Runs `cleanup` after the current test, before those added earlier. */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  /** Closes `resource` after the current test, and hands it back. */
  closeAfter<T extends { close(): Promise<void> }>(resource: T): T {
    this.defer(() => resource.close());
    return resource;
  }

  async cleanUp(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
  }

  /** A fresh folder `prefix…` under `parent`, removed after the test, holding an empty subfolder per name. */
  async tempDirs<K extends string>(prefix: string, names: readonly K[], parent = os.tmpdir()): Promise<Record<K | 'root', string>> {
    const root = await fs.mkdtemp(path.join(parent, prefix));
    this.defer(() => fs.rm(root, { recursive: true, force: true }));
    const dirs = Object.fromEntries(names.map((name) => [name, path.join(root, name)])) as Record<K, string>;
    await Promise.all(names.map((name) => fs.mkdir(dirs[name])));
    return { ...dirs, root };
  }

  /** Starts a CLI, killed after the test if it is still running. */
  start<L extends JsonLine>(spec: CliSpec): StartedCli<L> {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { PATH: process.env.PATH, ...spec.env },
      // stdin is /dev/null: a CLI given a pipe there may wait for it to end (codex appends it to the prompt).
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: spec.ownGroup ?? false,
    });
    const proc = new TestProcess(spec.name, child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = (name: NodeJS.Signals): void => {
      if (!spec.ownGroup) return void child.kill(name);
      try {
        process.kill(-child.pid!, name);
      } catch {
        // Already gone.
      }
    };
    this.defer(() => {
      signal('SIGKILL');
      return proc.exited;
    });
    const finished = (async () => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        signal('SIGKILL');
      }, runLimitMs);
      const { code, signal: exitSignal } = await proc.exited;
      clearTimeout(timer);
      if (timedOut) throw new Error(`${spec.name} did not finish within ${runLimitMs} ms:\n${stdout}\n${stderr}`);
      const lines = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as L);
      return { code, signal: exitSignal, lines, stderr };
    })();
    return { process: proc, finished, signal };
  }
}

/** A harness whose resources are released after each test of the calling file; call it once, at the top level. */
export function cliHarness(): CliHarness {
  const harness = new CliHarness();
  afterEach(() => harness.cleanUp());
  return harness;
}

/** A run's output and stderr, for failure messages. */
export const dump = (run: CliRun<JsonLine>): string => `${run.lines.map((l) => JSON.stringify(l)).join('\n')}\n${run.stderr}`;

/** The run's first line of `type` (and `subtype`); throws, showing the output, if there is none. */
export function lineOf<L extends JsonLine>(run: CliRun<L>, type: string, subtype?: string): L {
  const line = run.lines.find((l) => l.type === type && (subtype === undefined || l.subtype === subtype));
  if (!line) throw new Error(`no ${type}${subtype ? `/${subtype}` : ''} line in:\n${dump(run)}`);
  return line;
}

export const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../core/config/paths.js';
import { testTime } from './time.js';

/** A real child process running one of ao's entry points, with its output kept for assertions. */
export class TestProcess {
  private text = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    const append = (chunk: Buffer): void => {
      this.text += chunk.toString();
      for (const wake of this.waiters) wake();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) =>
      // 'close', not 'exit': the output streams are drained by then.
      child.once('close', (code, signal) => {
        resolve({ code, signal });
        for (const wake of this.waiters) wake();
      }),
    );
  }

  get output(): string {
    return this.text;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs = testTime(60_000)): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: no output matching ${pattern} in ${timeoutMs} ms:\n${this.text}`)), timeoutMs);
      const check = (): void => {
        const match = this.text.match(pattern);
        if (match) done(undefined, match);
        else if (!this.running) done(new Error(`${this.name} exited before printing ${pattern}:\n${this.text}`));
      };
      const done = (error?: Error, match?: RegExpMatchArray): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error) reject(error);
        else resolve(match!);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `signal`, and SIGKILL if the process has not exited after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = testTime(15_000)): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `node --import tsx <script> ...args` from the repository root. */
export function startTsProcess(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): TestProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new TestProcess(name, child);
}

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../core/config/paths.js';
import { testTime } from './time.js';

/** A JSON log line's message (ao's processes log JSON lines off a terminal); any other line as it is. */
export function readableLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as { msg?: unknown };
    return typeof entry.msg === 'string' ? entry.msg : line;
  } catch {
    return line;
  }
}

/**
 * A real child process running one of ao's entry points, with its output kept for assertions:
 * `output` reads JSON log lines as their messages (what tests match), `rawOutput` is what it wrote.
 */
export class TestProcess {
  private text = '';
  private raw = '';
  /** Each stream's end after its last newline: rendered once the line is whole. */
  private readonly partial = { stdout: '', stderr: '' };
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    const append = (stream: 'stdout' | 'stderr') => (chunk: Buffer): void => {
      this.raw += chunk.toString();
      const lines = (this.partial[stream] + chunk.toString()).split('\n');
      this.partial[stream] = lines.pop()!;
      for (const line of lines) this.text += `${readableLine(line)}\n`;
      for (const wake of this.waiters) wake();
    };
    child.stdout?.on('data', append('stdout'));
    child.stderr?.on('data', append('stderr'));
    this.exited = new Promise((resolve) =>
      // 'close', not 'exit': the output streams are drained by then.
      child.once('close', (code, signal) => {
        resolve({ code, signal });
        for (const wake of this.waiters) wake();
      }),
    );
  }

  get output(): string {
    return this.text + this.partial.stdout + this.partial.stderr;
  }

  get rawOutput(): string {
    return this.raw;
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
      const timer = setTimeout(() => done(new Error(`${this.name}: no output matching ${pattern} in ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
      const check = (): void => {
        const match = this.output.match(pattern);
        if (match) done(undefined, match);
        else if (!this.running) done(new Error(`${this.name} exited before printing ${pattern}:\n${this.output}`));
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

/** Starts `node ...args` from the repository root (node flags, the entry point, its arguments). */
export function startNodeProcess(name: string, args: string[], env: NodeJS.ProcessEnv): TestProcess {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new TestProcess(name, child);
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

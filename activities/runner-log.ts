import type { HookRun } from './hooks.js';

export type LogLevel = 'quiet' | 'normal' | 'verbose';

/** What a runner tells the person watching its terminal. */
export interface RunnerLog {
  info(message: string): void;
  verbose(message: string): void;
  error(message: string): void;
  runStarted(runId: string, agent: string, workspace: string): void;
  runEnded(runId: string, status: 'completed' | 'failed' | 'stopped', durationMs: number, detail?: string): void;
  hook(run: HookRun): void;
}

const COLORS = { dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;

/**
 * Colour when attached to a terminal, plain timestamped lines otherwise (logs, CI). `quiet` keeps
 * errors and run ends only; `verbose` adds hook output and details.
 */
export function createRunnerLog(options: { tty: boolean; level: LogLevel; write?: (line: string) => void }): RunnerLog {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const paint = (color: keyof typeof COLORS, text: string): string => (options.tty ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text);
  const stamp = (): string => (options.tty ? paint('dim', new Date().toLocaleTimeString()) : new Date().toISOString());
  const line = (text: string): void => write(`${stamp()} ${text}`);
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
  return {
    info: (message) => options.level !== 'quiet' && line(message),
    verbose: (message) => options.level === 'verbose' && line(paint('dim', message)),
    error: (message) => line(paint('red', `error: ${message}`)),
    runStarted: (runId, agent, workspace) => options.level !== 'quiet' && line(`${paint('cyan', '▶ run')} ${runId} ${paint('dim', `agent ${agent} in ${workspace}`)}`),
    runEnded: (runId, status, durationMs, detail) => {
      const color = status === 'completed' ? 'green' : status === 'stopped' ? 'yellow' : 'red';
      line(`${paint(color, `■ ${status}`)} ${runId} after ${seconds(durationMs)}${detail && status !== 'completed' ? `: ${detail}` : ''}`);
    },
    hook: (run) => {
      if (!run.passed) line(paint('red', `hook ${run.hook} failed (${run.timed_out ? 'timed out' : `exit ${run.exit_code}`}): ${run.output}`));
      else if (options.level === 'verbose') line(paint('magenta', `hook ${run.hook} passed in ${seconds(run.duration_ms)}`));
    },
  };
}

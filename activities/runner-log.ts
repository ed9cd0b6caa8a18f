import type { Logger } from '../core/observability/logger.js';
import type { HookRun } from './hooks.js';

export type LogLevel = 'quiet' | 'normal' | 'verbose';

/** What a runner tells the person watching its terminal, or its log collector. */
export interface RunnerLog {
  info(message: string): void;
  verbose(message: string): void;
  /** `runId`: the run it concerns, a field of its JSON line. */
  error(message: string, runId?: string): void;
  /** Always shown, whatever the level: the runner registered, drains, stopped. */
  announce(message: string): void;
  runStarted(runId: string, agent: string, workspace: string): void;
  runEnded(runId: string, status: 'completed' | 'failed' | 'stopped', durationMs: number, detail?: string): void;
  /** `runId`: the run it ran for; none for a health check. */
  hook(run: HookRun, runId?: string): void;
}

const COLORS = { dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;

export interface RunnerLogOptions {
  tty: boolean;
  level: LogLevel;
  write?: (line: string) => void;
  /** JSON lines through this logger (it carries `runner_id`) instead of the human format. */
  json?: Logger;
}

/**
 * Colour when attached to a terminal, plain timestamped lines otherwise (with `AO_LOG_FORMAT=text`),
 * JSON lines with `runner_id` and `run_id` for a collector. `quiet` keeps errors and run ends only;
 * `verbose` adds hook output and details.
 */
export function createRunnerLog(options: RunnerLogOptions): RunnerLog {
  if (options.json) return jsonRunnerLog(options.json, options.level);
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const paint = (color: keyof typeof COLORS, text: string): string => (options.tty ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text);
  const stamp = (): string => (options.tty ? paint('dim', new Date().toLocaleTimeString()) : new Date().toISOString());
  const line = (text: string): void => write(`${stamp()} ${text}`);
  return {
    info: (message) => options.level !== 'quiet' && line(message),
    verbose: (message) => options.level === 'verbose' && line(paint('dim', message)),
    error: (message) => line(paint('red', `error: ${message}`)),
    announce: (message) => write(message),
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

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The same lines as fields: a collector filters on `run_id`, `event`, `status` rather than parsing text. */
function jsonRunnerLog(logger: Logger, level: LogLevel): RunnerLog {
  return {
    info: (message) => level !== 'quiet' && logger.info(message),
    verbose: (message) => level === 'verbose' && logger.info(message, { verbose: true }),
    error: (message, runId) => logger.error(message, runId ? { run_id: runId } : undefined),
    announce: (message) => logger.info(message),
    runStarted: (runId, agent, workspace) =>
      level !== 'quiet' && logger.info(`run ${runId} agent ${agent} in ${workspace}`, { event: 'run_started', run_id: runId, agent, workspace }),
    runEnded: (runId, status, durationMs, detail) => {
      const fields = { event: 'run_ended', run_id: runId, status, duration_ms: durationMs, ...(detail && status !== 'completed' ? { detail } : {}) };
      // The terminal line's words, without its marks: what people grep for reads the same in both.
      const message = `${status} ${runId} after ${seconds(durationMs)}${fields.detail ? `: ${fields.detail}` : ''}`;
      if (status === 'failed') logger.error(message, fields);
      else logger.info(message, fields);
    },
    hook: (run, runId) => {
      const fields = { event: 'hook', ...(runId ? { run_id: runId } : {}), hook: run.hook, passed: run.passed, exit_code: run.exit_code, timed_out: run.timed_out, duration_ms: run.duration_ms };
      if (!run.passed) logger.error(`hook ${run.hook} failed (${run.timed_out ? 'timed out' : `exit ${run.exit_code}`}): ${run.output}`, { ...fields, output: run.output });
      else if (level === 'verbose') logger.info(`hook ${run.hook} passed in ${seconds(run.duration_ms)}`, fields);
    },
  };
}

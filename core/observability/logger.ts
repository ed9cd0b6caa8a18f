import { DefaultLogger, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import { pino, stdTimeFunctions, type Logger as PinoLogger } from 'pino';
import { z } from 'zod';

/** How a process logs: JSON lines for log collectors, or the human format on a terminal. */
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = Exclude<(typeof LOG_FORMATS)[number], 'auto'>;

export const LogEnv = z.object({
  /** `auto` (default): JSON lines unless stdout is a terminal. */
  AO_LOG_FORMAT: z.enum(LOG_FORMATS).default('auto'),
});

/** `auto` resolves by where stdout goes: a terminal gets the human format, anything else (a file, a pipe, a collector) JSON. */
export function resolveLogFormat(format: (typeof LOG_FORMATS)[number], isTty = process.stdout.isTTY === true): LogFormat {
  return format === 'auto' ? (isTty ? 'text' : 'json') : format;
}

/** Fields a line carries besides its message: `run_id`, `runner_id` where they apply. */
export type LogFields = Record<string, unknown>;

/** One logger per process, through which every line it prints goes. */
export interface Logger {
  readonly format: LogFormat;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** The same logger with `fields` on every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** The process: `api`, `control`, `runner` (the `name` field of each JSON line). */
  name: string;
  format: LogFormat;
  fields?: LogFields;
  /** Text mode: where a line goes (stdout for info, stderr for warnings and errors by default). */
  writeText?: (line: string, level: 'debug' | 'info' | 'warn' | 'error') => void;
}

const writeTextDefault = (line: string, level: string): void => {
  (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
};

function pinoLogger(base: PinoLogger, format: LogFormat): Logger {
  return {
    format,
    info: (message, fields) => base.info(fields ?? {}, message),
    warn: (message, fields) => base.warn(fields ?? {}, message),
    error: (message, fields) => base.error(fields ?? {}, message),
    debug: (message, fields) => base.debug(fields ?? {}, message),
    child: (fields) => pinoLogger(base.child(fields), format),
  };
}

function textLogger(write: NonNullable<LoggerOptions['writeText']>): Logger {
  return {
    format: 'text',
    info: (message) => write(message, 'info'),
    warn: (message) => write(message, 'warn'),
    error: (message) => write(message, 'error'),
    debug: () => undefined,
    child: () => textLogger(write),
  };
}

/**
 * JSON lines (pino) or today's plain lines. The JSON goes through `process.stdout`, not pino's own
 * file descriptor writer, so the process's redaction (core/process/redacted-output.ts) sees it.
 */
export function createLogger({ name, format, fields = {}, writeText = writeTextDefault }: LoggerOptions): Logger {
  if (format === 'text') return textLogger(writeText);
  const base = pino(
    {
      name,
      base: { pid: process.pid, ...fields },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    process.stdout,
  );
  return pinoLogger(base, format);
}

/**
 * The Temporal SDK's logger for `Runtime.install`: its lines (and the Core's it forwards) as JSON
 * through ours off a terminal; its own plain format on one. Warnings and above, as before.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  if (logger.format === 'text') return new DefaultLogger('WARN');
  const sdk = logger.child({ component: 'temporal-sdk' });
  const forward = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const fields = meta ? Object.fromEntries(Object.entries(meta).map(([key, value]) => [key, value instanceof Error ? { message: value.message, stack: value.stack } : value])) : undefined;
    if (level === 'ERROR') sdk.error(message, fields);
    else sdk.warn(message, fields);
  };
  return new DefaultLogger('WARN', ({ level, message, meta }) => forward(level, message, meta));
}

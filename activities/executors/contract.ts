import type { EventKind } from '../../core/contract/events.js';
import type { BaseExecutorConfig, ExecutorConfig } from '../../core/contract/executor-profile.js';
import { ExecutorOutput, type ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import type { ProcessOutcome } from './process.js';

/**
 * The executor contract: the invocation (schema 2.1) as JSON on stdin; progress as any text on
 * stdout; the last stdout line that is a JSON object is the output (`status`, `result_data`,
 * `error`, `session_id`). Exit code 0 means success unless the output says `failed`.
 */
export interface ExecutorCapabilities {
  /** Continues an earlier executor session (`session_id`). */
  resume: boolean;
  /** Reports tool calls, files and usage as structured events, not only terminal output. */
  structured_events: boolean;
  /** Reports a cost of its own. */
  cost: boolean;
}

/** One executor type's driver, typed by its profile's config. */
export interface ExecutorAdapter<C extends ExecutorConfig = ExecutorConfig> {
  capabilities: ExecutorCapabilities;
  /** `pty`: the process prints to a pseudo-terminal (stderr still apart); default: plain pipes. */
  terminal?: 'pty' | 'pipes';
  /** The command used when the profile gives none; undefined when the profile must give one. */
  defaultCommand(): string[] | undefined;
  /** The argv and stdin for one invocation. */
  plan(invocation: ExecutorInvocation<C>, command: string[]): { argv: string[]; stdin: string };
  /** The executor's output, from its exit and streams. */
  interpret(outcome: ProcessOutcome, invocation: ExecutorInvocation<C>): ExecutorOutput;
  /** Structured events from one line of stdout; adapters with it report those instead of raw stdout. */
  parseLine?(line: string): ExecutorEvent[];
  /**
   * Files outside the workspace the executor itself reads (a policy file the profile names): an
   * executor user is given read access to them, or the CLI would silently go without.
   */
  executorReads?(invocation: ExecutorInvocation<C>): string[];
  /**
   * Prepares what the executor needs before it starts (e.g. an isolated settings home, under
   * `where.home`: the home of the user the executor runs as); returns environment additions.
   */
  prepare?(invocation: ExecutorInvocation<C>, where: { home: string }): Promise<NodeJS.ProcessEnv>;
  /** Checks at runner start that the executable exists and supports what the adapter needs. */
  detect?(command: string[]): Promise<{ version: string }>;
}

export interface ExecutorEvent {
  kind: EventKind;
  data: Record<string, unknown>;
}

export function lastJsonObjectLine(text: string): unknown {
  const lines = text.split('\n');
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line);
    } catch {
      // Not JSON after all: keep looking.
    }
  }
  return undefined;
}

export function contractAdapter(defaultCommand?: () => string[]): ExecutorAdapter<BaseExecutorConfig> {
  return {
    // Through the contract an executor may still resume: it receives `session_id` and may report one.
    capabilities: { resume: true, structured_events: false, cost: false },
    defaultCommand: () => defaultCommand?.(),
    plan: (invocation, command) => ({ argv: command, stdin: JSON.stringify(invocation) }),
    interpret: (outcome) => {
      const parsed = ExecutorOutput.safeParse(lastJsonObjectLine(outcome.stdout) ?? {});
      const output: ExecutorOutput = parsed.success ? parsed.data : { status: 'completed' };
      if (outcome.exitCode !== 0) {
        const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited with code ${outcome.exitCode}`;
        const tail = outcome.stderr.trim().split('\n').slice(-5).join('\n');
        return { ...output, status: 'failed', error: output.error ?? `executor ${how}${tail ? `: ${tail}` : ''}` };
      }
      return output;
    },
  };
}

import type { EventKind } from '../../core/contract/events.js';
import type { BaseExecutorConfig, ExecutorConfig } from '../../core/contract/executor-profile.js';
import { ExecutorOutput, type ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import type { OnApprovalTimeout } from '../../core/contract/approvals.js';
import type { MergedPolicy } from '../../core/contract/policy.js';
import type { JsonLine } from './cli-support.js';
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
  /** Asks ao about tool uses over a structured protocol, so its runs can be supervised (approvals). */
  approvals: boolean;
  /** Takes a user message while it runs (`POST /runs/:id/input`). */
  input: boolean;
  /** Input sent mid-turn reaches the current turn; false: it is held until the turn ends. */
  steer: boolean;
  /** Ends its current turn and keeps the session (`POST /runs/:id/interrupt`). */
  interrupt: boolean;
}

/** Why an executor cannot take a live command, when its capabilities say it cannot. */
export class UnsupportedCommandError extends Error {}

/** One executor type's driver, typed by its profile's config. */
export interface ExecutorAdapter<C extends ExecutorConfig = ExecutorConfig> {
  capabilities: ExecutorCapabilities;
  /** Lines the CLI prints to stderr that are its own chatter, not the run's output: such chunks are marked `noise`. */
  stderrNoise?: RegExp;
  /** `pty`: the process prints to a pseudo-terminal (stderr still apart); default: plain pipes. */
  terminal?: 'pty' | 'pipes';
  /** The command used when the profile gives none; undefined when the profile must give one. */
  defaultCommand(): string[] | undefined;
  /** The argv and stdin for one invocation; `supervision` when the run is driven over the CLI's control protocol. */
  plan(invocation: ExecutorInvocation<C>, command: string[]): Plan;
  /**
   * A supervised run's conversation with its executor (stdin kept open): the adapter reads its
   * executor's lines and answers its permission requests through what the runner gives it.
   */
  converse?(invocation: ExecutorInvocation<C>, io: ConversationIo): Conversation;
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
   * Folders outside the workspace the executor writes (a settings home `prepare` made): given to
   * the executor user, but for the top-level names in `except`; a `lasting` one once per runner.
   */
  executorWrites?(invocation: ExecutorInvocation<C>, where: { home: string }): ExecutorWritable[];
  /**
   * Prepares what the executor needs before it starts (e.g. an isolated settings home, under
   * `where.home`: the home of the user the executor runs as); returns environment additions.
   */
  prepare?(invocation: ExecutorInvocation<C>, where: { home: string }): Promise<NodeJS.ProcessEnv>;
  /** Removes what `prepare` wrote for this run alone, once its executor has ended. */
  release?(invocation: ExecutorInvocation<C>, where: { home: string }): Promise<void>;
  /** Checks at runner start that the executable exists and supports what the adapter needs. */
  detect?(command: string[]): Promise<{ version: string }>;
}

export interface ExecutorWritable {
  dir: string;
  except?: string[];
  lasting?: boolean;
}

export interface Plan {
  argv: string[];
  stdin: string;
  /** Set: the executor's stdin stays open and the adapter's `converse` drives it (a structured protocol). */
  conversation?: boolean;
  /** Set: its permission requests follow this policy (implies `conversation`). */
  supervision?: ApprovalPolicy;
}

/** Which tool uses wait for a person, and for how long (from the profile). */
export interface ApprovalPolicy {
  /** Tool names; `*` is every tool the executor asks about. */
  requiredTools: string[];
  timeoutSeconds: number;
  onTimeout: OnApprovalTimeout;
  /** The run's merged policy: ao judges every permission request by it first. */
  runPolicy?: MergedPolicy;
}

/** A tool use the executor asks permission for, in ao's terms. */
export interface PermissionAsk {
  tool: string;
  input: Record<string, unknown>;
  command?: string;
  files?: string[];
  /** What the tool does with `files`, when the adapter knows; otherwise ao guesses from the tool's name. */
  access?: 'read' | 'write';
}

export type PermissionAnswer = { behavior: 'allow' } | { behavior: 'deny'; message: string };

/** What the runner gives a conversing adapter. */
export interface ConversationIo {
  /** Writes one JSON line to the executor's stdin. */
  send(message: unknown): void;
  /** Closes the executor's stdin (it ends). */
  close(): void;
  /** Answers a permission request: at once by policy, or once a person (or the timeout) decides. `key` is the executor's own request id. */
  ask(ask: PermissionAsk, key: string): Promise<PermissionAnswer>;
  /** The executor withdrew the request `key`. */
  withdraw(key: string, reason: string): void;
  /** Reports what no line of the executor's output says (a tool refused by ao's answer); redacted like every event. */
  emit(event: ExecutorEvent): void;
}

export interface Conversation {
  /** Once the process is spawned and its stdin open: handshakes and the first prompt go here. */
  start?(): void;
  /** One line of the executor's stdout (not redacted: it may carry what the executor needs back). */
  onLine(line: JsonLine): void;
  /** A user message mid-run; `queued`: held until the current turn ends. Throws UnsupportedCommandError. */
  input?(text: string): { queued: boolean };
  /** Ends the current turn, keeping the session. Throws UnsupportedCommandError. */
  interrupt?(): void;
  /**
   * Events from one line of the executor's (redacted) stdout, knowing the conversation's state
   * (e.g. a loaded session's replayed history is not news); used instead of the adapter's `parseLine`.
   */
  parseLine?(line: string): ExecutorEvent[];
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
    capabilities: { resume: true, structured_events: false, cost: false, approvals: false, input: false, steer: false, interrupt: false },
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

import type { RunnerCommand, RunnerCommandReply } from '../../core/contract/runner-commands.js';
import type { Redactor } from '../../core/contract/secrets.js';
import type { ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import { parseJsonLine } from '../executors/cli-support.js';
import { UnsupportedCommandError, type ApprovalPolicy, type ExecutorAdapter, type ExecutorEvent } from '../executors/contract.js';
import type { StdinChannel } from '../executors/process.js';
import { ApprovalDesk, type ApprovalReporter, type Pausable } from './approval-desk.js';
import { judgeOnDisk } from './policy-judge.js';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../executors/approval-policy.js';
import type { Emit } from './context.js';
import type { SupervisionSpec } from './supervised-process.js';

export interface ConversationSpec {
  adapter: ExecutorAdapter;
  invocation: ExecutorInvocation;
  /** Which tool uses wait for a person; unset: the executor's questions are all allowed by ao. */
  policy: ApprovalPolicy | undefined;
  emit: Emit;
  redactor: Redactor;
  reporter: ApprovalReporter;
}

/** A conversation with no supervision: ao asks nobody, every permission request is allowed. */
const ALLOW_ALL: ApprovalPolicy = { requiredTools: [], timeoutSeconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS, onTimeout: 'deny' };

/**
 * Wires a conversing run (supervised or not): the executor's stdin stays open, its raw stdout lines go to the
 * adapter's conversation, its permission requests to an approval desk; `handle` takes the commands
 * from its workflow that the conversation answers (approvals, input, interrupt). `close` lets it go.
 */
export function openConversation(spec: ConversationSpec): {
  wiring: NonNullable<SupervisionSpec['conversation']>;
  /** The conversation's own reading of stdout lines, when it has one (see `Conversation.parseLine`). */
  parseLine?: (line: string) => ExecutorEvent[];
  handle: (command: RunnerCommand) => RunnerCommandReply;
  close: (reason: string) => void;
} {
  let clock: Pausable | undefined;
  let stdin: StdinChannel | undefined;
  // The invocation's policy, whichever way the adapter planned its supervision.
  const runPolicy = spec.policy?.runPolicy ?? spec.invocation.policy;
  const workspaceDir = spec.invocation.workspace_dir;
  const desk = new ApprovalDesk(spec.policy ?? ALLOW_ALL, {
    emit: spec.emit,
    redactor: spec.redactor,
    reporter: spec.reporter,
    clock: { pause: () => clock?.pause(), resume: () => clock?.resume() },
    ...(runPolicy ? { judge: (ask) => judgeOnDisk(runPolicy, ask, workspaceDir) } : {}),
  });
  const conversation = spec.adapter.converse!(spec.invocation, {
    send: (message) => stdin?.write(`${JSON.stringify(message)}\n`),
    close: () => stdin?.end(),
    ask: (ask, key) => desk.ask(ask, key),
    withdraw: (key, reason) => desk.withdraw(key, reason),
    emit: (event) => spec.emit(event.kind, spec.redactor.value(event.data)),
  });
  const type = spec.invocation.executor_type;
  const handle = (command: RunnerCommand): RunnerCommandReply => {
    try {
      switch (command.kind) {
        case 'approval_decision':
          return desk.handle(command);
        case 'input':
          if (!conversation.input) return { delivered: false, reason: `a ${type} executor cannot take input while it runs` };
          return { delivered: true, ...conversation.input(command.text) };
        case 'interrupt':
          if (!conversation.interrupt) return { delivered: false, reason: `a ${type} executor cannot be interrupted` };
          conversation.interrupt();
          return { delivered: true };
        default:
          return { delivered: false, reason: `${command.kind} is not handled by the conversation` };
      }
    } catch (error) {
      if (error instanceof UnsupportedCommandError) return { delivered: false, reason: error.message };
      throw error;
    }
  };
  let pendingLine = '';
  return {
    ...(conversation.parseLine ? { parseLine: (line: string) => conversation.parseLine!(line) } : {}),
    handle,
    wiring: {
      onStdin: (channel) => {
        stdin = channel;
        conversation.start?.();
      },
      onClock: (runClock) => {
        clock = runClock;
      },
      onRawStdout: (text) => {
        const lines = (pendingLine + text).split('\n');
        pendingLine = lines.pop() ?? '';
        for (const line of lines) {
          const parsed = parseJsonLine(line);
          if (parsed) conversation.onLine(parsed);
        }
      },
    },
    close: (reason) => {
      desk.close(reason);
    },
  };
}

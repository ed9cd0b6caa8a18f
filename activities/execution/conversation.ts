import type { RunnerCommand, RunnerCommandReply } from '../../core/contract/approvals.js';
import type { Redactor } from '../../core/contract/secrets.js';
import type { ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import { parseJsonLine } from '../executors/cli-support.js';
import type { ApprovalPolicy, ExecutorAdapter } from '../executors/contract.js';
import type { StdinChannel } from '../executors/process.js';
import { ApprovalDesk, type ApprovalReporter, type Pausable } from './approval-desk.js';
import type { Emit } from './context.js';
import type { LiveExecutions } from './live-executions.js';
import type { SupervisionSpec } from './supervised-process.js';

export interface ConversationSpec {
  runId: string;
  adapter: ExecutorAdapter;
  invocation: ExecutorInvocation;
  policy: ApprovalPolicy;
  emit: Emit;
  redactor: Redactor;
  reporter: ApprovalReporter;
  live: LiveExecutions;
}

/**
 * Wires a supervised run: the executor's stdin stays open, its raw stdout lines go to the
 * adapter's conversation, its permission requests to an approval desk, and the run is held in
 * the runner's live executions so commands from its workflow reach it. `close` lets it go.
 */
export function openConversation(spec: ConversationSpec): { wiring: NonNullable<SupervisionSpec['conversation']>; close(reason: string): void } {
  let clock: Pausable | undefined;
  let stdin: StdinChannel | undefined;
  const desk = new ApprovalDesk(spec.policy, {
    emit: spec.emit,
    redactor: spec.redactor,
    reporter: spec.reporter,
    clock: { pause: () => clock?.pause(), resume: () => clock?.resume() },
  });
  const conversation = spec.adapter.converse!(spec.invocation, {
    send: (message) => stdin?.write(`${JSON.stringify(message)}\n`),
    close: () => stdin?.end(),
    ask: (ask, key) => desk.ask(ask, key),
    withdraw: (key, reason) => desk.withdraw(key, reason),
  });
  const handle = (command: RunnerCommand): RunnerCommandReply => {
    switch (command.kind) {
      case 'approval_decision':
        return desk.handle(command);
    }
  };
  const unregister = spec.live.register(spec.runId, handle);
  let pendingLine = '';
  return {
    wiring: {
      onStdin: (channel) => {
        stdin = channel;
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
      unregister();
      desk.close(reason);
    },
  };
}

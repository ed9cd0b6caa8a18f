import type { ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import type { JsonLine } from './cli-support.js';
import { UnsupportedCommandError, type Conversation, type ConversationIo, type PermissionAnswer, type PermissionAsk } from './contract.js';

/**
 * Claude Code's stream-json protocol (`--input-format stream-json`, and `--permission-prompt-tool
 * stdio` for supervised runs): the prompt goes in as a `user` line, each `can_use_tool` control
 * request is answered with a `control_response`, and stdin is closed once the `result` line
 * arrives, which ends the CLI. Input is another `user` line: mid-turn the CLI folds it into the
 * current turn. An interrupt (`control_request` `interrupt`) ends the turn; its `result` does not
 * end the run: the session waits for input, which starts the next turn.
 */

/** Tools whose input names the file they write. */
const FILE_INPUTS = ['file_path', 'notebook_path'] as const;

/** A user message: the prompt, or an operator's input. */
const userMessage = (text: string): unknown => ({ type: 'user', message: { role: 'user', content: text } });

/** The first line on stdin: the prompt, as a user message. */
export const claudeUserMessage = (prompt: string): string => `${JSON.stringify(userMessage(prompt))}\n`;

function permissionAsk(request: Record<string, unknown>): PermissionAsk {
  const input = (typeof request.input === 'object' && request.input !== null ? request.input : {}) as Record<string, unknown>;
  const files = FILE_INPUTS.flatMap((key) => (typeof input[key] === 'string' ? [input[key]] : []));
  return {
    tool: String(request.tool_name),
    input,
    ...(typeof input.command === 'string' ? { command: input.command } : {}),
    ...(files.length ? { files } : {}),
  };
}

const controlResponse = (requestId: string, answer: PermissionAnswer, input: Record<string, unknown>): unknown => ({
  type: 'control_response',
  response: {
    subtype: 'success',
    request_id: requestId,
    response: answer.behavior === 'allow' ? { behavior: 'allow', updatedInput: input } : { behavior: 'deny', message: answer.message },
  },
});

/** Where the session is: in a turn, ending one ao interrupted, waiting for input after that, or over. */
type Phase = 'turn' | 'interrupting' | 'waiting' | 'ended';

export function claudeConversation(_invocation: ExecutorInvocation, io: ConversationIo): Conversation {
  let phase: Phase = 'turn';
  let interrupts = 0;
  /** Input sent while an interrupted turn winds down: the CLI would merge it into that turn, so it waits for its `result`. */
  const held: string[] = [];
  const sendUser = (text: string): void => {
    phase = 'turn';
    io.send(userMessage(text));
  };
  return {
    input(text) {
      if (phase === 'ended') throw new UnsupportedCommandError('the claude session has ended');
      if (phase === 'interrupting') {
        held.push(text);
        return { queued: true };
      }
      sendUser(text);
      return { queued: false };
    },
    interrupt() {
      if (phase === 'ended') throw new UnsupportedCommandError('the claude session has ended');
      if (phase !== 'turn') throw new UnsupportedCommandError('no turn is running: the session waits for input');
      interrupts += 1;
      phase = 'interrupting';
      io.send({ type: 'control_request', request_id: `ao-interrupt-${interrupts}`, request: { subtype: 'interrupt' } });
    },
    onLine(line: JsonLine) {
      if (line.type === 'result') {
        if (phase === 'interrupting') {
          // ao ended this turn: the session stays, waiting for input (or for what was sent meanwhile).
          phase = 'waiting';
          if (held.length) sendUser(held.splice(0).join('\n\n'));
          return;
        }
        phase = 'ended';
        return io.close();
      }
      if (line.type === 'control_cancel_request' && typeof line.request_id === 'string') return io.withdraw(line.request_id, 'the executor withdrew the request');
      if (line.type !== 'control_request' || typeof line.request_id !== 'string') return;
      const requestId = line.request_id;
      const request = (line.request ?? {}) as Record<string, unknown>;
      if (request.subtype !== 'can_use_tool') {
        io.send({ type: 'control_response', response: { subtype: 'error', request_id: requestId, error: `ao does not answer ${String(request.subtype)}` } });
        return;
      }
      const ask = permissionAsk(request);
      void io.ask(ask, requestId).then((answer) => io.send(controlResponse(requestId, answer, ask.input)));
    },
  };
}

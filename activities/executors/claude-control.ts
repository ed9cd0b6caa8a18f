import type { ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import type { JsonLine } from './cli-support.js';
import type { Conversation, ConversationIo, PermissionAnswer, PermissionAsk } from './contract.js';

/**
 * Claude Code's stream-json control protocol (`--input-format stream-json --permission-prompt-tool
 * stdio`): the prompt goes in as a `user` line, each `can_use_tool` control request is answered
 * with a `control_response`, and stdin is closed once the `result` line arrives, which ends the CLI.
 */

/** Tools whose input names the file they write. */
const FILE_INPUTS = ['file_path', 'notebook_path'] as const;

/** The first line on stdin: the prompt, as a user message. */
export const claudeUserMessage = (prompt: string): string => `${JSON.stringify({ type: 'user', message: { role: 'user', content: prompt } })}\n`;

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

export function claudeConversation(_invocation: ExecutorInvocation, io: ConversationIo): Conversation {
  return {
    onLine(line: JsonLine) {
      if (line.type === 'result') return io.close();
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

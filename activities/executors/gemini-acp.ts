import * as acp from '@agentclientprotocol/sdk';
import type { GeminiConfig } from '../../core/contract/executor-profile.js';
import type { ExecutorInvocation } from '../../core/contract/executor-protocol.js';
import { approvalPolicyOf } from './approval-policy.js';
import type { JsonLine } from './cli-support.js';
import { UnsupportedCommandError, type Conversation, type ConversationIo, type PermissionAnswer } from './contract.js';
import { AcpEventReader, permissionAsk } from './gemini-acp-lines.js';
import { answerFormatNote } from './output-schema.js';

/**
 * Gemini CLI over the Agent Client Protocol (`gemini --acp`, JSON-RPC 2.0 on stdio), as ao's
 * client: `initialize`, `session/new` (or `session/load` for a follow-up run), `session/set_mode`,
 * then one `session/prompt` per turn. Each `session/request_permission` goes to ao's approval desk
 * and is answered with the option of the matching kind. Gemini has no mid-turn steer (a prompt
 * sent while one runs cancels it), so input during a turn is held until the turn ends. Once a
 * turn ends with nothing held, stdin is closed and the CLI exits — except after an interrupt,
 * when the session waits for the next input.
 */

/** The profile's approval modes → gemini's ACP mode ids. */
const MODE_IDS: Record<NonNullable<GeminiConfig['approval_mode']>, string> = { default: 'default', auto_edit: 'autoEdit', yolo: 'yolo', plan: 'plan' };

/** ao reads and writes nothing for the CLI: it uses its own file system and shell. */
const CLIENT_CAPABILITIES: acp.ClientCapabilities = { fs: { readTextFile: false, writeTextFile: false }, terminal: false };

/** The mode of a run: a supervised one asks about every tool (`default`); others ask nothing (`yolo`), unless the profile says. */
export function geminiModeOf(config: GeminiConfig): string {
  const fallback = approvalPolicyOf(config) ? 'default' : 'yolo';
  return MODE_IDS[config.approval_mode ?? fallback];
}

/** The first prompt: the agent's system prompt, the run's, then the answer format (ACP has no output schema of its own). */
export function geminiPrompt(invocation: ExecutorInvocation): string | undefined {
  const prompt = invocation.prompt ?? (typeof invocation.parameters.prompt === 'string' ? invocation.parameters.prompt : '');
  if (!prompt) return undefined;
  const schema = invocation.agent.output_schema;
  return [invocation.agent.system_prompt, prompt, schema ? answerFormatNote(schema) : undefined].filter((part): part is string => Boolean(part)).join('\n\n');
}

/** The option of the answer's kind; by kind, never by id (gemini's ids are its own). */
function chosenOutcome(options: acp.PermissionOption[], answer: PermissionAnswer): acp.RequestPermissionOutcome {
  const kinds: acp.PermissionOptionKind[] = answer.behavior === 'allow' ? ['allow_once'] : ['reject_once', 'reject_always'];
  const option = kinds.map((kind) => options.find((candidate) => candidate.kind === kind)).find(Boolean);
  return option ? { outcome: 'selected', optionId: option.optionId } : { outcome: 'cancelled' };
}

type Phase = 'handshake' | 'prompting' | 'idle' | 'ended';

export function geminiConversation(invocation: ExecutorInvocation<GeminiConfig>, io: ConversationIo): Conversation {
  let phase: Phase = 'handshake';
  let sessionId = invocation.session_id ?? '';
  /** Input held until the running turn ends. */
  const held: string[] = [];
  /** ao cancelled the running turn: when it ends, the session waits for input instead of ending. */
  let interrupted = false;
  /** Permission requests waiting for an answer, by request id: an interrupt answers them `cancelled`. */
  const waiting = new Map<string, () => void>();
  const reader = new AcpEventReader(() => phase !== 'handshake');

  let feed!: ReadableStreamDefaultController<acp.AnyMessage>;
  const stream: acp.Stream = {
    readable: new ReadableStream<acp.AnyMessage>({ start: (controller) => void (feed = controller) }),
    writable: new WritableStream<acp.AnyMessage>({ write: (message) => io.send(message) }),
  };

  const refused = (toolCallId: string, output: string): void => io.emit({ kind: 'tool_result', data: { tool_use_id: toolCallId, is_error: true, output } });

  const connection = acp
    .client({ name: 'ao' })
    .onRequest(acp.methods.client.session.requestPermission, async ({ params, requestId }) => {
      const key = String(requestId);
      const cancelled = new Promise<'cancelled'>((resolve) => waiting.set(key, () => resolve('cancelled')));
      const answer = await Promise.race([io.ask(permissionAsk(params.toolCall), key), cancelled]);
      waiting.delete(key);
      if (answer === 'cancelled') {
        refused(params.toolCall.toolCallId, 'interrupted before an answer');
        return { outcome: { outcome: 'cancelled' } };
      }
      // Gemini tells the model only that the user cancelled the tool: the message stays ao's.
      if (answer.behavior === 'deny') refused(params.toolCall.toolCallId, `refused: ${answer.message}`);
      return { outcome: chosenOutcome(params.options, answer) };
    })
    // Updates become events from the stdout lines themselves (`parseLine`).
    .onNotification(acp.methods.client.session.update, () => undefined)
    .connect(stream);
  const agent = connection.agent;

  const end = (): void => {
    phase = 'ended';
    io.close();
  };

  /** One turn; when it ends: the held input, else wait (after an interrupt), else the run ends. */
  async function prompt(texts: string[]): Promise<void> {
    phase = 'prompting';
    await agent.request(acp.methods.agent.session.prompt, { sessionId, prompt: texts.map((text) => ({ type: 'text', text })) });
    // The interrupt was of this turn alone: the turn that input held meanwhile starts is not interrupted.
    const wasInterrupted = interrupted;
    interrupted = false;
    if (held.length) return prompt(held.splice(0));
    if (wasInterrupted) {
      phase = 'idle';
      return;
    }
    end();
  }

  async function converse(first: string): Promise<void> {
    await agent.request(acp.methods.agent.initialize, { protocolVersion: acp.PROTOCOL_VERSION, clientCapabilities: CLIENT_CAPABILITIES });
    const cwd = invocation.workspace_dir;
    if (invocation.session_id) await agent.request(acp.methods.agent.session.load, { sessionId, cwd, mcpServers: [] });
    else sessionId = (await agent.request(acp.methods.agent.session.new, { cwd, mcpServers: [] })).sessionId;
    await agent.request(acp.methods.agent.session.setMode, { sessionId, modeId: geminiModeOf(invocation.executor_config) });
    await prompt([first]);
  }

  return {
    start() {
      const first = geminiPrompt(invocation) ?? '';
      converse(first).catch((error: unknown) => {
        // A JSON-RPC error is on stdout for the run's output; anything else is said here.
        if (!(error instanceof acp.RequestError)) io.emit({ kind: 'alert', data: { kind: 'executor_error', message: `gemini: ${error instanceof Error ? error.message : String(error)}` } });
        end();
      });
    },
    onLine(line: JsonLine) {
      try {
        feed.enqueue(line as acp.AnyMessage);
      } catch {
        // The client closed its side (a protocol failure ended the conversation): the line has no reader.
      }
    },
    parseLine: (text) => reader.events(text),
    input(text) {
      if (phase === 'ended') throw new UnsupportedCommandError('the gemini session has ended');
      if (phase === 'idle') {
        void prompt([text]).catch(end);
        return { queued: false };
      }
      held.push(text);
      return { queued: true };
    },
    interrupt() {
      if (phase !== 'prompting') throw new UnsupportedCommandError(phase === 'ended' ? 'the gemini session has ended' : 'no gemini turn is running');
      interrupted = true;
      // A cancel that cannot be written (the CLI is gone) has nothing left to cancel.
      agent.notify(acp.methods.agent.session.cancel, { sessionId }).catch(() => undefined);
      // With a permission pending, a cancel alone does not end gemini's turn: the question is answered too.
      for (const [key, cancel] of waiting) {
        cancel();
        io.withdraw(key, 'the turn was interrupted');
      }
    },
  };
}

import type { JsonLine } from './cli-support.js';
import { CODEX_METHODS as M, classify, innerCommand, textInput, type CodexApprovalPolicy, type CodexDecision, type CodexSandbox, type FileUpdateChange, type ThreadItem } from './codex-protocol.js';
import { UnsupportedCommandError, type Conversation, type ConversationIo, type PermissionAnswer, type PermissionAsk } from './contract.js';

/** What one codex session starts with. */
export interface CodexSessionSettings {
  cwd: string;
  approvalPolicy: CodexApprovalPolicy;
  sandbox: CodexSandbox;
  /** The first turn's text (the agent's system prompt first). */
  prompt: string;
  /** Set: `thread/resume` this thread instead of starting one. */
  threadId?: string;
  /** The agent's output schema: every turn's final message is constrained to it (`turn/start`'s `outputSchema`). */
  outputSchema?: Record<string, unknown>;
}

/** The tool names ao's approvals (and `approval_required_tools`) use for what codex asks about: its own tools' names. */
export const CODEX_TOOLS = { command: 'exec_command', patch: 'apply_patch' } as const;

/** Where the conversation's turn is: ao holds input while a turn is being opened or interrupted. */
type Phase =
  | { name: 'opening' }
  | { name: 'running'; turnId: string }
  | { name: 'interrupting'; turnId: string }
  | { name: 'idle' }
  | { name: 'closed' };

const CLIENT_INFO = { name: 'ao', title: null, version: '1' };

/**
 * One `codex app-server` session, supervised or not: `initialize`, `thread/start` (or
 * `thread/resume`), then `turn/start` with the prompt. Approval requests go to ao's desk and are
 * answered `accept` or `decline`; input mid-turn is `turn/steer`, between turns `turn/start`.
 * When a turn ends by itself stdin is closed and the CLI exits; after an interrupt ao sent, the
 * session waits for the next input.
 */
export class CodexAppServerConversation implements Conversation {
  private nextId = 1;
  private readonly replies = new Map<number, { resolve(result: Record<string, unknown>): void; reject(error: Error): void }>();
  private threadId: string | undefined;
  private phase: Phase = { name: 'opening' };
  /** Input that arrived while a turn was opening or being interrupted. */
  private held: string[] = [];
  /** File changes by item id: a patch approval names only its item. */
  private readonly changes = new Map<string, FileUpdateChange[]>();
  /** The server's approval requests ao has not answered yet, by request id. */
  private readonly asking = new Map<number | string, string>();

  constructor(
    private readonly settings: CodexSessionSettings,
    private readonly io: ConversationIo,
  ) {}

  start(): void {
    const { cwd, approvalPolicy, sandbox, threadId } = this.settings;
    void this.request(M.initialize, { clientInfo: CLIENT_INFO, capabilities: { experimentalApi: false } })
      .then(() => {
        this.io.send({ jsonrpc: '2.0', method: M.initialized });
        return threadId
          ? this.request(M.threadResume, { threadId, cwd, approvalPolicy, sandbox, excludeTurns: true })
          : this.request(M.threadStart, { cwd, approvalPolicy, sandbox });
      })
      .then((result) => {
        this.threadId = (result.thread as { id: string }).id;
        this.startTurn([this.settings.prompt]);
      })
      // The error response is on stdout, where the run's output reads it: ending stdin ends the CLI.
      .catch(() => this.close());
  }

  onLine(raw: JsonLine): void {
    const line = classify(raw);
    if (!line) return;
    if (line.kind === 'response') {
      const reply = this.replies.get(line.id);
      this.replies.delete(line.id);
      if (line.error) reply?.reject(new Error(line.error.message ?? 'codex refused the request'));
      else reply?.resolve(line.result ?? {});
      return;
    }
    if (line.kind === 'request') return this.answer(line.id, line.method, line.params);
    const { params } = line;
    switch (line.method) {
      case M.itemStarted: {
        const item = params.item as ThreadItem | undefined;
        if (item?.type === 'fileChange' && 'changes' in item) this.changes.set(item.id, item.changes);
        return;
      }
      case M.turnStarted:
        return this.turnStarted((params.turn as { id: string }).id);
      case M.turnCompleted:
        return this.turnCompleted((params.turn as { id: string }).id);
      case M.requestResolved:
        return this.withdraw(params.requestId as number | string, 'codex withdrew the request');
      default:
        return;
    }
  }

  input(text: string): { queued: boolean } {
    switch (this.phase.name) {
      case 'closed':
        throw new UnsupportedCommandError('the codex session has ended');
      case 'running':
        this.steer(this.phase.turnId, [text]);
        break;
      case 'idle':
        this.startTurn([text]);
        break;
      default:
        // Steered into the turn once it has an id, or the next turn's prompt once the interrupt is through.
        this.held.push(text);
    }
    return { queued: false };
  }

  interrupt(): void {
    if (this.phase.name !== 'running' || !this.threadId) throw new UnsupportedCommandError('no turn is running');
    const { turnId } = this.phase;
    this.phase = { name: 'interrupting', turnId };
    for (const id of [...this.asking.keys()]) this.withdraw(id, 'the turn was interrupted');
    void this.request(M.turnInterrupt, { threadId: this.threadId, turnId }).catch(() => undefined);
  }

  private startTurn(texts: string[]): void {
    this.phase = { name: 'opening' };
    const { outputSchema } = this.settings;
    void this.request(M.turnStart, { threadId: this.threadId, input: texts.flatMap(textInput), ...(outputSchema ? { outputSchema } : {}) })
      .then((result) => this.turnStarted((result.turn as { id: string }).id))
      .catch(() => this.close());
  }

  /** The turn's id is known (from `turn/start`'s answer or `turn/started`, whichever comes first). */
  private turnStarted(turnId: string): void {
    if (this.phase.name !== 'opening') return;
    this.phase = { name: 'running', turnId };
    const held = this.held.splice(0);
    if (held.length) this.steer(turnId, held);
  }

  private turnCompleted(turnId: string): void {
    if ('turnId' in this.phase && this.phase.turnId !== turnId) return;
    if (this.phase.name !== 'interrupting') return this.close();
    const held = this.held.splice(0);
    if (held.length) this.startTurn(held);
    else this.phase = { name: 'idle' };
  }

  private steer(turnId: string, texts: string[]): void {
    void this.request(M.turnSteer, { threadId: this.threadId, expectedTurnId: turnId, input: texts.flatMap(textInput) }).catch(() => undefined);
  }

  /** A request from the server: approvals go to ao's desk; anything else is refused, so codex does not wait for it. */
  private answer(id: number | string, method: string, params: Record<string, unknown>): void {
    const ask = method === M.commandApproval ? commandAsk(params) : method === M.fileChangeApproval ? this.patchAsk(params) : undefined;
    if (!ask) {
      this.io.send({ jsonrpc: '2.0', id, error: { code: -32601, message: `ao does not answer ${method}` } });
      return;
    }
    const key = String(id);
    this.asking.set(id, key);
    void this.io.ask(ask, key).then((answer) => {
      if (!this.asking.delete(id)) return;
      if (answer.behavior === 'deny') this.tellWhy(answer);
      const decision: CodexDecision = answer.behavior === 'allow' ? 'accept' : 'decline';
      this.io.send({ jsonrpc: '2.0', id, result: { decision } });
    });
  }

  /** `decline` carries no message: the operator's reason goes to the model as steered input beside codex's own "rejected by user". */
  private tellWhy(answer: Extract<PermissionAnswer, { behavior: 'deny' }>): void {
    if (this.phase.name === 'running') this.steer(this.phase.turnId, [`The operator declined the tool use: ${answer.message}`]);
  }

  private patchAsk(params: Record<string, unknown>): PermissionAsk {
    const changes = this.changes.get(String(params.itemId)) ?? [];
    return {
      tool: CODEX_TOOLS.patch,
      input: { changes: changes.map((change) => ({ path: change.path, kind: change.kind.type })), ...(typeof params.reason === 'string' ? { reason: params.reason } : {}) },
      files: changes.map((change) => change.path),
    };
  }

  private withdraw(id: number | string, reason: string): void {
    const key = this.asking.get(id);
    if (key === undefined) return;
    this.asking.delete(id);
    this.io.withdraw(key, reason);
  }

  private close(): void {
    this.phase = { name: 'closed' };
    this.io.close();
  }

  private request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.replies.set(id, { resolve, reject });
      this.io.send({ jsonrpc: '2.0', id, method, params });
    });
  }
}

function commandAsk(params: Record<string, unknown>): PermissionAsk {
  const full = typeof params.command === 'string' ? params.command : '';
  const command = innerCommand(full);
  return {
    tool: CODEX_TOOLS.command,
    input: { command, ...(full !== command ? { command_line: full } : {}), ...(typeof params.cwd === 'string' ? { cwd: params.cwd } : {}), ...(typeof params.reason === 'string' ? { reason: params.reason } : {}) },
    command,
  };
}

import type { CodexConfig } from '../../core/contract/executor-profile.js';
import type { FileOperation } from '../../core/contract/event-kinds.js';
import type { ExecutorInvocation, ExecutorOutput } from '../../core/contract/executor-protocol.js';
import { NO_USAGE, addUsage, priced, type RunUsage } from '../../core/contract/usage.js';
import { MCP_SERVER_NAME } from '../../core/contract/mcp.js';
import { approvalPolicyOf } from './approval-policy.js';
import { ExecutorConfigError, detectCli, eventsFromLine, parseJsonLines, type JsonLine } from './cli-support.js';
import { CODEX_TOOLS, CodexAppServerConversation, type CodexSessionSettings } from './codex-app-server.js';
import { CODEX_METHODS as M, classify, snakeUsage, turnErrorMessage, type CodexApprovalPolicy, type ThreadItem, type TokenUsageBreakdown, type TurnStatus } from './codex-protocol.js';
import type { ExecutorAdapter, ExecutorEvent } from './contract.js';
import { withStructuredAnswer } from './output-schema.js';
import { codexOverrideArgs, codexPolicySettings } from './policy-settings.js';
import type { ProcessOutcome } from './process.js';

/** A JSON value as TOML (codex's `-c key=value` syntax): strings, numbers, booleans, arrays, inline tables. */
export function toToml(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(toToml).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${/^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key)}=${toToml(item)}`)
      .join(', ')}}`;
  }
  throw new ExecutorConfigError(`cannot pass ${JSON.stringify(value)} to codex as a config value`);
}

/** A model error as an alert; a retry's "Reconnecting... 2/5" gives its attempt. */
function modelError(message: string, willRetry: boolean): Record<string, unknown> {
  const retry = willRetry ? /(\d+)\/(\d+)/.exec(message) : null;
  return {
    kind: willRetry ? 'api_retry' : 'model_error',
    message: message.startsWith('codex: ') ? message : `codex: ${message}`,
    ...(retry ? { attempt: Number(retry[1]), max_attempts: Number(retry[2]) } : {}),
  };
}

/** The provider's retry counts: codex retries a request and a dropped stream apart. */
function vendorRetries(config: CodexConfig): Record<string, number> {
  const retries = config.max_vendor_retries;
  return retries === undefined ? {} : { request_max_retries: retries, stream_max_retries: retries };
}

/**
 * The `codex app-server` argv: the profile's model, reasoning effort, provider and config as
 * `-c` overrides, never a shell string. Sandbox, approval policy and the prompt go over the
 * protocol (`codexSession`).
 */
export function codexArgs(invocation: ExecutorInvocation<CodexConfig>, command: string[]): string[] {
  const config = invocation.executor_config;
  // Codex takes retry counts per declared provider; its built-in one cannot be changed from the command line.
  if (config.max_vendor_retries !== undefined && !config.provider) throw new ExecutorConfigError('max_vendor_retries needs config.provider for codex: codex takes retry counts only for a provider the profile declares');
  const overrides: Array<[string, unknown]> = [
    ...(config.model ? [['model', config.model] as [string, unknown]] : []),
    ...(config.reasoning_effort ? [['model_reasoning_effort', config.reasoning_effort] as [string, unknown]] : []),
    ...(config.provider
      ? ([
          ['model_provider', 'ao'],
          ['model_providers.ao', { ...config.provider, ...vendorRetries(config) }],
        ] as Array<[string, unknown]>)
      : []),
    ...Object.entries(config.config ?? {}),
    // ao's MCP server for this run: codex reads the bearer credential from the named variable, so it is not in the argv.
    ...(invocation.ao_mcp
      ? ([
          [`mcp_servers.${MCP_SERVER_NAME}.url`, invocation.ao_mcp.url],
          [`mcp_servers.${MCP_SERVER_NAME}.bearer_token_env_var`, invocation.ao_mcp.credential_env],
        ] as Array<[string, unknown]>)
      : []),
  ];
  // The run's policy last: its sandbox and network settings win over the profile's.
  const policy = invocation.policy ? codexOverrideArgs(codexPolicySettings(invocation.policy, config.sandbox).overrides) : [];
  return [...command, 'app-server', ...overrides.flatMap(([key, value]) => ['-c', `${key}=${toToml(value)}`]), ...policy];
}

/**
 * Whether and when codex asks: a supervised profile asks about every command not on codex's safe
 * list and every patch (`untrusted`); otherwise nothing is asked, as `codex exec` never asked.
 */
function approvalPolicy(config: CodexConfig, supervised: boolean): CodexApprovalPolicy {
  const chosen = config.approval_policy;
  if (supervised && chosen === 'never') throw new ExecutorConfigError('a supervised codex profile cannot have approval_policy "never": codex would ask about nothing');
  if (chosen === 'on-failure') throw new ExecutorConfigError('codex app-server does not take approval_policy "on-failure"; use "untrusted", "on-request" or "never"');
  return chosen ?? (supervised ? 'untrusted' : 'never');
}

/** What the session starts with: the workspace, the sandbox and approval policy, the prompt, the thread to resume. */
export function codexSession(invocation: ExecutorInvocation<CodexConfig>): CodexSessionSettings {
  const config = invocation.executor_config;
  const prompt = invocation.prompt ?? (typeof invocation.parameters.prompt === 'string' ? invocation.parameters.prompt : '');
  if (!prompt) throw new ExecutorConfigError('a codex run needs a prompt');
  const system = invocation.agent.system_prompt ? `${invocation.agent.system_prompt}\n\n` : '';
  const schema = invocation.agent.output_schema;
  return {
    cwd: invocation.workspace_dir,
    approvalPolicy: approvalPolicy(config, approvalPolicyOf(config, invocation.policy) !== undefined),
    // thread/start's sandbox overrides the config's: under a policy it is the policy's (never wider than workspace-write).
    sandbox: invocation.policy ? codexPolicySettings(invocation.policy, config.sandbox).overrides.sandbox_mode as CodexSessionSettings['sandbox'] : (config.sandbox ?? 'workspace-write'),
    prompt: `${system}${prompt}`,
    ...(invocation.session_id ? { threadId: invocation.session_id } : {}),
    ...(schema ? { outputSchema: schema } : {}),
  };
}

type Params = Record<string, unknown>;

/**
 * One app-server line → ao events. The session starts with the answer to `thread/start` or
 * `thread/resume` (a resumed thread has no `thread/started`); other answers and status
 * notifications are protocol, not events.
 */
export function codexEvents(raw: JsonLine): ExecutorEvent[] {
  const line = classify(raw);
  if (!line || line.kind === 'request') return [];
  if (line.kind === 'response') {
    const thread = line.result?.thread as { id?: string } | undefined;
    if (thread?.id) return [{ kind: 'session_started', data: { session_id: thread.id, model: line.result?.model } }];
    return line.error ? [{ kind: 'alert', data: { kind: 'protocol_error', message: `codex: ${line.error.message ?? 'request refused'}` } }] : [];
  }
  const params: Params = line.params;
  const item = params.item as ThreadItem | undefined;
  switch (line.method) {
    case M.itemStarted:
      return item ? itemStarted(item) : [];
    case M.itemCompleted:
      return item ? itemCompleted(item) : [];
    case M.tokenUsage: {
      const usage = params.tokenUsage as { last?: TokenUsageBreakdown; total?: TokenUsageBreakdown; modelContextWindow?: number | null } | undefined;
      if (!usage?.last) return [];
      const thread = snakeUsage(usage.total);
      return [{ kind: 'usage_tick', data: { scope: 'call', usage: { ...callUsage(usage.last), raw: { ...(thread ? { thread_total: thread } : {}), model_context_window: usage.modelContextWindow ?? null } } } }];
    }
    case M.error:
      return [{ kind: 'alert', data: modelError(turnErrorMessage(params.error) ?? 'model error', params.willRetry === true) }];
    case M.turnCompleted: {
      const turn = params.turn as { status?: TurnStatus; error?: unknown } | undefined;
      return turn?.status === 'failed' ? [{ kind: 'alert', data: { kind: 'turn_failed', message: turnErrorMessage(turn.error) ?? 'the turn failed' } }] : [];
    }
    default:
      return [];
  }
}

function itemStarted(item: ThreadItem): ExecutorEvent[] {
  if (item.type === 'commandExecution' && 'command' in item) return [{ kind: 'tool_call', data: { id: item.id, name: CODEX_TOOLS.command, input: { command: item.command, cwd: item.cwd } } }];
  if (item.type === 'fileChange' && 'changes' in item) {
    return [{ kind: 'tool_call', data: { id: item.id, name: CODEX_TOOLS.patch, input: { changes: item.changes.map((change) => ({ path: change.path, kind: change.kind.type })) } } }];
  }
  return [];
}

/** A patch's change kinds as ao's file operations. */
const PATCH_OPERATIONS: Record<string, FileOperation> = { add: 'write', update: 'edit', delete: 'delete' };

function itemCompleted(item: ThreadItem): ExecutorEvent[] {
  if (item.type === 'agentMessage' && 'text' in item) return [{ kind: 'message', data: { role: 'assistant', text: item.text } }];
  if (item.type === 'commandExecution' && 'command' in item) {
    // An empty output still says so: the result is never blank.
    const output = item.aggregatedOutput || `${item.status}, exit code ${item.exitCode ?? 'none'}, no output`;
    return [{ kind: 'tool_result', data: { tool_use_id: item.id, is_error: item.status !== 'completed' || item.exitCode !== 0, status: item.status, exit_code: item.exitCode, output: output.slice(0, 2000) } }];
  }
  if (item.type === 'fileChange' && 'changes' in item) {
    // The patch's output, as the model is told: which files it changed, and how.
    const output = item.changes.map((change) => `${change.kind.type} ${change.path}`).join('\n');
    const result: ExecutorEvent = { kind: 'tool_result', data: { tool_use_id: item.id, is_error: item.status !== 'completed', status: item.status, output: item.status === 'completed' ? output : `patch ${item.status}: ${output}` } };
    if (item.status !== 'completed') return [result];
    return [result, ...item.changes.map((change): ExecutorEvent => ({ kind: 'file_touched', data: { path: change.path, operation: PATCH_OPERATIONS[change.kind.type] ?? 'edit', tool: CODEX_TOOLS.patch } }))];
  }
  return [];
}

/** The thread a line belongs to, wherever it says so. */
function threadOf(line: JsonLine): string | undefined {
  const params = (line.params ?? {}) as Params;
  const result = (line.result ?? {}) as Params;
  const id = params.threadId ?? (params.thread as Params | undefined)?.id ?? (result.thread as Params | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The run's output from the app-server's stdout: the thread id, the last agent message and the
 * thread's token usage. The run fails when its last turn failed (or was interrupted by codex
 * itself), when codex refused to open the thread, or when it ended without finishing a turn.
 */
export function codexOutput(outcome: ProcessOutcome, invocation: ExecutorInvocation<CodexConfig>): ExecutorOutput {
  const config = invocation.executor_config;
  const lines = parseJsonLines(outcome.stdout);
  const threadId = lines.map(threadOf).filter((id): id is string => id !== undefined).at(-1);
  const session = threadId ? { session_id: threadId } : {};
  const last = <T>(method: string, pick: (params: Params) => T | undefined): T | undefined =>
    lines.map((line) => (line.method === method ? pick((line.params ?? {}) as Params) : undefined)).filter((value): value is T => value !== undefined).at(-1);
  const text = last(M.itemCompleted, (params) => {
    const item = params.item as ThreadItem | undefined;
    return item?.type === 'agentMessage' && 'text' in item ? item.text : undefined;
  });
  // A resumed thread reports its earlier last call again before this run's first turn: not this run's.
  const firstTurn = lines.findIndex((line) => line.method === M.turnStarted);
  const calls = lines.flatMap((line, index) =>
    line.method === M.tokenUsage && firstTurn >= 0 && index > firstTurn ? [((line.params ?? {}) as Params).tokenUsage as { last?: TokenUsageBreakdown; total?: TokenUsageBreakdown } | undefined] : [],
  );
  const usage = priced(codexUsage(calls), config.model, config.prices);
  const turn = last(M.turnCompleted, (params) => params.turn as { status: TurnStatus; error?: unknown } | undefined);
  // An error answer: codex refused to open the thread (an unknown thread id, say).
  const refused = lines.flatMap((line) => (line.method === undefined && typeof line.error === 'object' && line.error !== null ? [String((line.error as { message?: unknown }).message)] : [])).at(-1);
  // A failed or stopped run still shows what it used so far.
  const failure = (cause: string): ExecutorOutput => ({ status: 'failed', error: `codex: ${cause}`, ...(usage.turns > 0 ? { result_data: { usage, ...(usage.cost_usd !== undefined ? { cost_usd: usage.cost_usd } : {}) } } : {}), ...session });
  if (outcome.exitCode !== 0 || !turn) {
    const tail = outcome.stderr.trim().split('\n').slice(-3).join('\n');
    return failure(refused ?? `exited with code ${outcome.exitCode ?? outcome.signal} before its turn completed${tail ? `: ${tail}` : ''}`);
  }
  if (turn.status === 'failed') return failure(turnErrorMessage(turn.error) ?? 'the turn failed');
  if (turn.status !== 'completed') return failure(`the turn ended ${turn.status}`);
  const output: ExecutorOutput = { status: 'completed', result_data: { text, usage, ...(usage.cost_usd !== undefined ? { cost_usd: usage.cost_usd } : {}), session_id: threadId }, ...session };
  // codex constrains the final message to the schema itself (`outputSchema`); ao still checks and parses it.
  return withStructuredAnswer(output, invocation.agent.output_schema);
}

/** One model call's own counts in ao's shape: codex counts cached input within its input. */
function callUsage(one: TokenUsageBreakdown): RunUsage {
  return {
    input_tokens: Math.max(0, one.inputTokens - one.cachedInputTokens),
    cache_read_tokens: one.cachedInputTokens,
    cache_write_tokens: one.cacheWriteInputTokens ?? 0,
    output_tokens: one.outputTokens,
    reasoning_tokens: one.reasoningOutputTokens,
    turns: 1,
  };
}

/**
 * This run's usage: the sum of each model call's own counts (`last`); the thread's running total
 * (`total`, which a resumed thread carries over from earlier runs) is kept under `raw`.
 */
export function codexUsage(calls: Array<{ last?: TokenUsageBreakdown; total?: TokenUsageBreakdown } | undefined>): RunUsage {
  const usage = calls.reduce<RunUsage>((sum, call) => (call?.last ? addUsage(sum, callUsage(call.last)) : sum), { ...NO_USAGE });
  const total = calls.at(-1)?.total;
  return total ? { ...usage, raw: { thread_total: snakeUsage(total) } } : usage;
}

/** Drives the real `codex` CLI over `codex app-server` (JSON-RPC on stdio), supervised or not. */
export const codexAdapter: ExecutorAdapter<CodexConfig> = {
  capabilities: { resume: true, structured_events: true, cost: false, approvals: true, input: true, steer: true, interrupt: true },
  defaultCommand: () => ['codex'],
  stderrNoise: /^Reading additional input from stdin\.\.\.$/,
  plan: (invocation, command) => {
    codexSession(invocation);
    const supervision = approvalPolicyOf(invocation.executor_config, invocation.policy);
    return { argv: codexArgs(invocation, command), stdin: '', conversation: true, ...(supervision ? { supervision } : {}) };
  },
  converse: (invocation, io) => new CodexAppServerConversation(codexSession(invocation), io),
  parseLine: eventsFromLine(codexEvents),
  interpret: codexOutput,
  detect: (command) => detectCli(command, { name: 'codex', npmPackage: '@openai/codex', helpArgs: ['app-server', '--help'], requiredFlags: ['--config', 'stdio://'] }),
};

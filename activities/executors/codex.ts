import type { CodexConfig } from '../../core/contract/executor-profile.js';
import type { ExecutorInvocation, ExecutorOutput } from '../../core/contract/executor-protocol.js';
import { ExecutorConfigError, detectCli, eventsFromLine, parseJsonLines, type JsonLine } from './cli-support.js';
import type { ExecutorAdapter, ExecutorEvent } from './contract.js';
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

/** The `codex exec` argv: JSON events on stdout, the profile's model, sandbox and config, never a shell string. */
export function codexArgs(invocation: ExecutorInvocation<CodexConfig>, command: string[]): string[] {
  const config = invocation.executor_config;
  const sandbox = config.sandbox ?? 'workspace-write';
  const prompt = invocation.prompt ?? (typeof invocation.parameters.prompt === 'string' ? invocation.parameters.prompt : '');
  if (!prompt) throw new ExecutorConfigError('a codex run needs a prompt');
  const overrides: Array<[string, unknown]> = [
    ...(config.approval_policy ? [['approval_policy', config.approval_policy] as [string, unknown]] : []),
    ...(config.reasoning_effort ? [['model_reasoning_effort', config.reasoning_effort] as [string, unknown]] : []),
    ...(config.provider
      ? ([
          ['model_provider', 'ao'],
          ['model_providers.ao', config.provider],
        ] as Array<[string, unknown]>)
      : []),
    ...Object.entries(config.config ?? {}),
  ];
  const system = invocation.agent.system_prompt ? `${invocation.agent.system_prompt}\n\n` : '';
  return [
    ...command,
    'exec',
    '--json',
    '--skip-git-repo-check',
    '-s', sandbox,
    ...(config.model ? ['-m', config.model] : []),
    ...overrides.flatMap(([key, value]) => ['-c', `${key}=${toToml(value)}`]),
    // Options go before `resume`: the subcommand takes the thread id and the prompt.
    ...(invocation.session_id ? ['resume', invocation.session_id] : []),
    `${system}${prompt}`,
  ];
}

type Line = JsonLine;
type Item = { type?: string; [key: string]: unknown };

/** One `--json` line → ao events. */
export function codexEvents(line: Line): ExecutorEvent[] {
  const item = (line.item ?? {}) as Item;
  switch (line.type) {
    case 'thread.started':
      return [{ kind: 'session_started', data: { session_id: line.thread_id } }];
    case 'turn.completed':
      return [{ kind: 'usage_tick', data: { usage: line.usage } }];
    case 'turn.failed':
      return [{ kind: 'alert', data: { message: (line.error as { message?: string } | undefined)?.message ?? 'turn failed' } }];
    case 'error':
      return [{ kind: 'alert', data: { message: line.message } }];
    case 'item.started':
      return item.type === 'command_execution' ? [{ kind: 'tool_call', data: { id: item.id, name: 'command', input: { command: item.command } } }] : [];
    case 'item.completed':
      if (item.type === 'agent_message') return [{ kind: 'message', data: { role: 'assistant', text: item.text } }];
      if (item.type === 'command_execution') {
        return [{ kind: 'tool_result', data: { tool_use_id: item.id, is_error: item.exit_code !== 0, exit_code: item.exit_code, output: typeof item.aggregated_output === 'string' ? item.aggregated_output.slice(0, 2000) : '' } }];
      }
      if (item.type === 'file_change') {
        const changes = (item.changes ?? []) as Array<{ path?: string; kind?: string }>;
        return [
          { kind: 'tool_call', data: { id: item.id, name: 'apply_patch', input: { changes } } },
          ...changes.map((change): ExecutorEvent => ({ kind: 'file_touched', data: { path: change.path, change: change.kind, tool: 'apply_patch' } })),
        ];
      }
      if (item.type === 'error') return [{ kind: 'alert', data: { message: item.message } }];
      return [];
    default:
      return [];
  }
}

/** The run's output: the thread id, the last agent message and the turn's usage; a failed turn fails the run. */
export function codexOutput(outcome: ProcessOutcome): ExecutorOutput {
  const lines = parseJsonLines(outcome.stdout);
  const threadId = lines.find((line) => line.type === 'thread.started')?.thread_id as string | undefined;
  const session = threadId ? { session_id: threadId } : {};
  const failed = [...lines].reverse().find((line) => line.type === 'turn.failed' || line.type === 'error');
  const messages = lines.filter((line) => line.type === 'item.completed' && (line.item as Item | undefined)?.type === 'agent_message');
  const usage = [...lines].reverse().find((line) => line.type === 'turn.completed')?.usage;
  if (outcome.exitCode !== 0 || lines.some((line) => line.type === 'turn.failed')) {
    const message = failed ? ((failed.error as { message?: string } | undefined)?.message ?? (failed.message as string | undefined)) : undefined;
    const tail = outcome.stderr.trim().split('\n').slice(-3).join('\n');
    return { status: 'failed', error: `codex: ${message ?? `exited with code ${outcome.exitCode ?? outcome.signal}${tail ? `: ${tail}` : ''}`}`, ...session };
  }
  const text = (messages.at(-1)?.item as Item | undefined)?.text;
  return { status: 'completed', result_data: { text, usage, session_id: threadId }, ...session };
}

/** Drives the real `codex` CLI with `codex exec --json`. */
export const codexAdapter: ExecutorAdapter<CodexConfig> = {
  capabilities: { resume: true, structured_events: true, cost: false, approvals: false, input: false, steer: false, interrupt: false },
  defaultCommand: () => ['codex'],
  plan: (invocation, command) => ({ argv: codexArgs(invocation, command), stdin: '' }),
  parseLine: eventsFromLine(codexEvents),
  interpret: codexOutput,
  detect: (command) => detectCli(command, { name: 'codex', npmPackage: '@openai/codex', helpArgs: ['exec', '--help'], requiredFlags: ['--json'] }),
};

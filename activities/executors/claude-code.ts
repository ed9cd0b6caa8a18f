import type { EventKind } from '../../core/contract/events.js';
import { jsonSchemaProblems } from '../../core/contract/json-schema.js';
import type { ClaudeCodeConfig } from '../../core/contract/executor-profile.js';
import type { ExecutorInvocation, ExecutorOutput } from '../../core/contract/executor-protocol.js';
import type { RunUsage } from '../../core/contract/usage.js';
import { ExecutorConfigError, detectCli, eventsFromLine, parseJsonLines } from './cli-support.js';
import { approvalPolicyOf } from './approval-policy.js';
import { claudeConversation, claudeUserMessage } from './claude-control.js';
import { claudePolicySettings } from './policy-settings.js';
import type { ExecutorAdapter, ExecutorEvent } from './contract.js';
import type { ProcessOutcome } from './process.js';

/** The flags this driver relies on; a CLI without them is refused at runner start. */
const REQUIRED_FLAGS = ['--output-format', '--input-format', '--verbose', '--permission-mode', '--resume', '--allowedTools', '--disallowedTools'];
/** Tools whose input names a file the run changes. */
const FILE_TOOLS = new Map([
  ['Write', 'write'],
  ['Edit', 'edit'],
  ['MultiEdit', 'edit'],
  ['NotebookEdit', 'edit'],
]);

export { ExecutorConfigError } from './cli-support.js';

/** The model for this run: a name, or a seniority → model map picked by the run's `seniority` parameter. */
function chooseModel(model: ClaudeCodeConfig['model'], parameters: Record<string, unknown>): string | undefined {
  if (model === undefined || typeof model === 'string') return model;
  const seniority = typeof parameters.seniority === 'string' ? parameters.seniority : (Object.keys(model)[0] ?? '');
  const chosen = model[seniority];
  if (chosen === undefined) throw new ExecutorConfigError(`no model for seniority "${seniority}"; known: ${Object.keys(model).join(', ')}`);
  return chosen;
}

/** The agent's prompt, plus the answer format when the agent has an output schema. */
function appendedPrompt(invocation: ExecutorInvocation): string | undefined {
  const parts = [
    invocation.agent.system_prompt,
    invocation.agent.output_schema
      ? `End with your final answer as one JSON value, and nothing else, matching this JSON Schema:\n${JSON.stringify(invocation.agent.output_schema)}`
      : undefined,
  ].filter((part): part is string => Boolean(part));
  return parts.length ? parts.join('\n\n') : undefined;
}

/** The agent's structured answer: the final text parsed as JSON (code fences allowed) and checked against its schema. */
function structuredAnswer(text: unknown, schema: Record<string, unknown>): { output: unknown } | { error: string } {
  const raw = typeof text === 'string' ? text.trim().replace(/^```(?:json)?\s*/, '').replace(/\s*```$/, '') : '';
  let output: unknown;
  try {
    output = JSON.parse(raw);
  } catch {
    return { error: `the final answer is not JSON: ${raw.slice(0, 200)}` };
  }
  const problems = jsonSchemaProblems(schema, output);
  return problems.length ? { error: `the final answer does not match the output schema: ${problems.join('; ')}` } : { output };
}

/** The prompt of a run: its own, or the `prompt` parameter. */
function promptOf(invocation: ExecutorInvocation): string {
  const prompt = invocation.prompt ?? (typeof invocation.parameters.prompt === 'string' ? invocation.parameters.prompt : '');
  if (!prompt) throw new ExecutorConfigError('a claude-code run needs a prompt');
  return prompt;
}

/**
 * Whether the CLI asks ao about tool uses over stdio (`--permission-prompt-tool stdio`): the one
 * place that decides it. Today: a supervised run (its profile names tools that need approval).
 */
export function asksOverStdio(config: ClaudeCodeConfig, policy?: ExecutorInvocation['policy']): boolean {
  return approvalPolicyOf(config, policy) !== undefined;
}

/**
 * The `claude` argv for one invocation: non-interactive, structured output, never a shell string.
 * Every run is a conversation: the prompt goes in on stdin as a stream-json user line, so input
 * and interrupts can follow. A supervised run also asks ao about tool uses over stdio, in the
 * CLI's `default` permission mode unless the profile chooses another. A run with a policy is
 * supervised (ao judges every question), and the policy is also given to the CLI as disallowed
 * tools and permission rules (`--settings`), which it applies even where it does not ask.
 */
export function claudeArgs(invocation: ExecutorInvocation<ClaudeCodeConfig>, command: string[], isRoot: boolean): string[] {
  const config = invocation.executor_config;
  const supervised = asksOverStdio(config, invocation.policy);
  const fromPolicy = invocation.policy ? claudePolicySettings(invocation.policy) : undefined;
  const permissionMode = config.permission_mode ?? (supervised ? 'default' : 'acceptEdits');
  if (isRoot && permissionMode === 'bypassPermissions') {
    throw new ExecutorConfigError(
      'permission_mode bypassPermissions is refused by the claude CLI when the runner runs as root; run the runner as another user, or use acceptEdits with allowed_tools',
    );
  }
  const model = chooseModel(config.model, invocation.parameters);
  const allowed = config.allowed_tools ?? [];
  const disallowed = [...new Set([...(config.disallowed_tools ?? []), ...(fromPolicy?.disallowedTools ?? [])])];
  const sources = config.setting_sources;
  promptOf(invocation);
  return [
    ...command,
    '-p', '--input-format', 'stream-json',
    ...(supervised ? ['--permission-prompt-tool', 'stdio'] : []),
    '--output-format', 'stream-json',
    '--verbose',
    '--permission-mode', permissionMode,
    ...(model ? ['--model', model] : []),
    ...(allowed.length ? ['--allowedTools', allowed.join(',')] : []),
    ...(disallowed.length ? ['--disallowedTools', disallowed.join(',')] : []),
    ...(sources !== undefined ? ['--setting-sources', sources.join(',')] : []),
    ...(fromPolicy ? ['--settings', JSON.stringify(fromPolicy.settings)] : []),
    ...(appendedPrompt(invocation) ? ['--append-system-prompt', appendedPrompt(invocation)!] : []),
    ...(config.max_turns !== undefined ? ['--max-turns', String(config.max_turns)] : []),
    ...(config.mcp_servers ? ['--mcp-config', JSON.stringify({ mcpServers: config.mcp_servers })] : []),
    ...(invocation.session_id ? ['--resume', invocation.session_id] : []),
  ];
}

const summarise = (content: unknown): string => {
  const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((part) => (part as { text?: string }).text ?? '').join('') : JSON.stringify(content);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
};

type Line = { type?: string; subtype?: string; [key: string]: unknown };
type Block = { type?: string; [key: string]: unknown };

/** The CLI's retry of a failing vendor API as an alert: ao's fields only, not the CLI's line (`type`, `uuid`, …). */
function apiRetryAlert(line: Line): Record<string, unknown> {
  const status = typeof line.error_status === 'number' ? ` (HTTP ${line.error_status})` : '';
  const attempt = typeof line.attempt === 'number' && Number.isInteger(line.attempt) && line.attempt > 0 ? line.attempt : undefined;
  const of = attempt !== undefined && typeof line.max_retries === 'number' ? ` ${attempt} of ${line.max_retries}` : '';
  return {
    kind: 'api_retry',
    message: `model API error${status}, retrying${of}`,
    ...(attempt !== undefined ? { attempt } : {}),
    ...(typeof line.max_retries === 'number' ? { max_attempts: line.max_retries } : {}),
    ...(typeof line.retry_delay_ms === 'number' ? { retry_in_ms: line.retry_delay_ms } : {}),
    ...(typeof line.error_status === 'number' ? { status: line.error_status } : {}),
  };
}

/** One stream-json line → ao events. */
export function claudeEvents(line: Line): ExecutorEvent[] {
  const event = (kind: EventKind, data: Record<string, unknown>): ExecutorEvent => ({ kind, data });
  if (line.type === 'system' && line.subtype === 'init') {
    return [event('session_started', { session_id: line.session_id, model: line.model, permission_mode: line.permissionMode, cli_version: line.claude_code_version, tools: line.tools })];
  }
  if (line.type === 'system' && line.subtype === 'permission_denied') {
    const detail = typeof line.message === 'string' ? `: ${line.message}` : '';
    return [event('alert', { kind: 'permission_denied', message: `permission denied for ${String(line.tool_name)}${detail}`, tool_use_id: line.tool_use_id })];
  }
  if (line.type === 'system' && line.subtype === 'api_retry') return [event('alert', apiRetryAlert(line))];
  const content = ((line.message as { content?: Block[] } | undefined)?.content ?? []).filter((block): block is Block => typeof block === 'object' && block !== null);
  if (line.type === 'assistant' && line.error !== undefined && line.error !== null) {
    // A vendor API failure the CLI gave up on comes as a made-up assistant message ("API Error: 400 …"): an alert, not the model's words.
    const text = content.flatMap((block) => (block.type === 'text' && typeof block.text === 'string' ? [block.text] : [])).join('\n');
    const error = typeof line.error === 'string' ? line.error : JSON.stringify(line.error);
    return [event('alert', { kind: 'model_error', message: text || `model API error: ${error}`, error })];
  }
  if (line.type === 'assistant') {
    const message = (line.message ?? {}) as { id?: unknown; model?: unknown; usage?: Record<string, unknown> };
    // Every content block of a message comes as a line of its own, each with the message's usage: the runner counts a call once, by its id.
    const tick = message.usage
      ? [event('usage_tick', { scope: 'call', usage: claudeTokens(message.usage, 1), ...(typeof message.id === 'string' ? { call_id: message.id } : {}), ...(typeof message.model === 'string' ? { model: message.model } : {}) })]
      : [];
    return [...tick, ...content.flatMap((block) => {
      if (block.type === 'text') return typeof block.text === 'string' ? [event('message', { role: 'assistant', text: block.text })] : [];
      if (block.type !== 'tool_use') return [];
      const input = (block.input ?? {}) as Record<string, unknown>;
      const calls = [event('tool_call', { id: block.id, name: block.name, input })];
      const operation = FILE_TOOLS.get(String(block.name));
      if (operation && typeof (input.file_path ?? input.notebook_path) === 'string') {
        // Reported once the tool succeeded (its tool_result), by the runner's event shaping.
        calls.push(event('file_touched', { path: input.file_path ?? input.notebook_path, tool: block.name, operation, tool_use_id: block.id }));
      }
      return calls;
    })];
  }
  if (line.type === 'user') {
    return content
      .filter((block) => block.type === 'tool_result')
      .map((block) => event('tool_result', { tool_use_id: block.tool_use_id, is_error: block.is_error === true, output: summarise(block.content) || `${block.is_error === true ? 'failed' : 'completed'}, no output` }));
  }
  if (line.type === 'result') {
    return [event('usage_tick', { scope: 'run', final: true, usage: claudeUsage(line), duration_ms: line.duration_ms })];
  }
  return [];
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0);

/** The Messages API's token counts in ao's shape (no cost: the CLI prices only the whole run). */
function claudeTokens(usage: Record<string, unknown>, turns: number): RunUsage {
  const details = (usage.output_tokens_details ?? {}) as Record<string, unknown>;
  return {
    input_tokens: count(usage.input_tokens),
    output_tokens: count(usage.output_tokens),
    cache_read_tokens: count(usage.cache_read_input_tokens),
    cache_write_tokens: count(usage.cache_creation_input_tokens),
    reasoning_tokens: count(details.thinking_tokens),
    turns,
  };
}

/**
 * The `result` line's usage in ao's shape. Its tokens are this process's; its `total_cost_usd` is
 * the session's running total (a resumed session's includes earlier runs): kept as
 * `raw.session_cost_usd`, and the runner takes the earlier runs' share off `cost_usd`.
 */
export function claudeUsage(result: Line): RunUsage {
  const cost = typeof result.total_cost_usd === 'number' ? result.total_cost_usd : undefined;
  return {
    ...claudeTokens((result.usage ?? {}) as Record<string, unknown>, count(result.num_turns)),
    ...(cost !== undefined ? { cost_usd: cost } : {}),
    raw: { ...(cost !== undefined ? { session_cost_usd: cost } : {}), ...(result.modelUsage ? { model_usage: result.modelUsage } : {}) },
  };
}

/** The run's output from the CLI's final `result` line (session, text, usage, cost from the CLI's own report). */
export function claudeOutput(outcome: ProcessOutcome, invocation: ExecutorInvocation): ExecutorOutput {
  const lines = parseJsonLines(outcome.stdout);
  const result = [...lines].reverse().find((line) => line.type === 'result');
  const init = lines.find((line) => line.type === 'system' && line.subtype === 'init');
  const sessionId = (result?.session_id ?? init?.session_id) as string | undefined;
  if (!result) {
    const tail = outcome.stderr.trim().split('\n').slice(-5).join('\n');
    return { status: 'failed', error: `claude exited with code ${outcome.exitCode ?? outcome.signal} without a result${tail ? `: ${tail}` : ''}`, ...(sessionId ? { session_id: sessionId } : {}) };
  }
  const usage = claudeUsage(result);
  const data = { text: result.result, usage, ...(usage.cost_usd !== undefined ? { cost_usd: usage.cost_usd } : {}), num_turns: result.num_turns, session_id: sessionId };
  if (result.is_error === true || outcome.exitCode !== 0) {
    return { status: 'failed', error: `claude: ${typeof result.result === 'string' ? result.result : String(result.subtype)}`, result_data: data, ...(sessionId ? { session_id: sessionId } : {}) };
  }
  if (invocation.agent.output_schema) {
    const answer = structuredAnswer(result.result, invocation.agent.output_schema);
    if ('error' in answer) return { status: 'failed', error: answer.error, result_data: data, ...(sessionId ? { session_id: sessionId } : {}) };
    return { status: 'completed', result_data: { ...data, output: answer.output }, ...(sessionId ? { session_id: sessionId } : {}) };
  }
  return { status: 'completed', result_data: data, ...(sessionId ? { session_id: sessionId } : {}) };
}

/**
 * Drives the real `claude` CLI in `-p` mode over stream-json in and out: every run a conversation
 * (input folded into the current turn, interrupts), supervised runs also answering its permission requests.
 */
export const claudeCodeAdapter: ExecutorAdapter<ClaudeCodeConfig> = {
  capabilities: { resume: true, structured_events: true, cost: true, approvals: true, input: true, steer: true, interrupt: true },
  defaultCommand: () => ['claude'],
  plan: (invocation, command) => {
    const argv = claudeArgs(invocation, command, process.getuid?.() === 0);
    const supervision = approvalPolicyOf(invocation.executor_config, invocation.policy);
    return { argv, stdin: claudeUserMessage(promptOf(invocation)), conversation: true, ...(supervision ? { supervision } : {}) };
  },
  converse: claudeConversation,
  parseLine: eventsFromLine(claudeEvents),
  interpret: claudeOutput,
  detect: (command) => detectCli(command, { name: 'claude', npmPackage: '@anthropic-ai/claude-code', helpArgs: ['--help'], requiredFlags: REQUIRED_FLAGS }),
};

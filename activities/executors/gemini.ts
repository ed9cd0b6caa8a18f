import fs from 'node:fs/promises';
import path from 'node:path';
import type { GeminiConfig } from '../../core/contract/executor-profile.js';
import type { ExecutorInvocation, ExecutorOutput } from '../../core/contract/executor-protocol.js';
import { ExecutorConfigError, detectCli, eventsFromLine, parseJsonLines, type JsonLine } from './cli-support.js';
import type { ExecutorAdapter, ExecutorEvent } from './contract.js';
import type { ProcessOutcome } from './process.js';

/** Tools whose arguments name a file the run changes. */
const FILE_TOOLS = new Set(['write_file', 'replace']);

/** The settings home the executor prepares: API-key auth, no folder-trust prompt, no usage statistics. */
export const GEMINI_SETTINGS = {
  security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } },
  privacy: { usageStatisticsEnabled: false },
};

/** `gemini -p … --output-format stream-json`: the profile's model and approval mode, never a shell string. */
export function geminiArgs(invocation: ExecutorInvocation<GeminiConfig>, command: string[]): string[] {
  const config = invocation.executor_config;
  const approval = config.approval_mode ?? 'yolo';
  const prompt = invocation.prompt ?? (typeof invocation.parameters.prompt === 'string' ? invocation.parameters.prompt : '');
  if (!prompt) throw new ExecutorConfigError('a gemini run needs a prompt');
  const system = invocation.agent.system_prompt ? `${invocation.agent.system_prompt}\n\n` : '';
  return [
    ...command,
    '-p', `${system}${prompt}`,
    '--output-format', 'stream-json',
    ...(config.model ? ['-m', config.model] : []),
    // Without yolo, non-interactive gemini does not even offer its write tools to the model.
    ...(approval === 'yolo' ? ['--yolo'] : ['--approval-mode', approval]),
    ...(config.policy ? ['--policy', config.policy] : []),
    ...(invocation.session_id ? ['--resume', invocation.session_id] : []),
  ];
}

type Line = JsonLine;

/** One stream-json line → ao events. */
export function geminiEvents(line: Line): ExecutorEvent[] {
  switch (line.type) {
    case 'init':
      return [{ kind: 'session_started', data: { session_id: line.session_id, model: line.model } }];
    case 'message':
      return line.role === 'assistant' ? [{ kind: 'message', data: { role: 'assistant', text: line.content, delta: line.delta === true } }] : [];
    case 'tool_use': {
      const input = (line.parameters ?? {}) as Record<string, unknown>;
      const events: ExecutorEvent[] = [{ kind: 'tool_call', data: { id: line.tool_id, name: line.tool_name, input } }];
      if (FILE_TOOLS.has(String(line.tool_name)) && typeof input.file_path === 'string') {
        events.push({ kind: 'file_touched', data: { path: input.file_path, tool: line.tool_name } });
      }
      return events;
    }
    case 'tool_result': {
      const error = line.error as { type?: string; message?: string } | undefined;
      const output = typeof line.output === 'string' ? line.output.slice(0, 2000) : (error?.message ?? '');
      return [{ kind: 'tool_result', data: { tool_use_id: line.tool_id, is_error: line.status === 'error', output, ...(error?.type ? { error_type: error.type } : {}) } }];
    }
    case 'result':
      return [{ kind: 'usage_tick', data: { final: true, usage: line.stats } }];
    default:
      return [];
  }
}

/** The run's output from the `result` line; its status `error`, or no result at all, fails the run. */
export function geminiOutput(outcome: ProcessOutcome): ExecutorOutput {
  const lines = parseJsonLines(outcome.stdout);
  const sessionId = lines.find((line) => line.type === 'init')?.session_id as string | undefined;
  const session = sessionId ? { session_id: sessionId } : {};
  const result = lines.find((line) => line.type === 'result');
  if (!result || result.status === 'error' || outcome.exitCode !== 0) {
    const message = (result?.error as { message?: string } | undefined)?.message;
    const tail = outcome.stderr.trim().split('\n').slice(-3).join('\n');
    return { status: 'failed', error: `gemini: ${message ?? `exited with code ${outcome.exitCode ?? outcome.signal} without a result${tail ? `: ${tail}` : ''}`}`, ...session };
  }
  const text = lines
    .filter((line) => line.type === 'message' && line.role === 'assistant')
    .map((line) => (typeof line.content === 'string' ? line.content : ''))
    .join('');
  return { status: 'completed', result_data: { text, usage: result.stats, session_id: sessionId }, ...session };
}

/** Drives the real `gemini` CLI; its settings home is prepared here, so no user config leaks in. */
export const geminiAdapter: ExecutorAdapter<GeminiConfig> = {
  capabilities: { resume: true, structured_events: true, cost: false, approvals: false, input: false, steer: false, interrupt: false },
  defaultCommand: () => ['gemini'],
  plan: (invocation, command) => ({ argv: geminiArgs(invocation, command), stdin: '' }),
  // Gemini skips a policy file it cannot read, without a word: it must be readable to the executor.
  executorReads: (invocation) => (invocation.executor_config.policy ? [invocation.executor_config.policy] : []),
  async prepare(invocation, where) {
    // One home per executor user, kept across runs: gemini stores the sessions a follow-up run resumes there.
    const home = path.join(where.home, '.cache', 'ao', 'gemini-home');
    await fs.mkdir(path.join(home, '.gemini'), { recursive: true });
    await fs.writeFile(path.join(home, '.gemini', 'settings.json'), JSON.stringify({ ...GEMINI_SETTINGS, ...invocation.executor_config.settings }, null, 2));
    return { HOME: home };
  },
  parseLine: eventsFromLine(geminiEvents),
  interpret: geminiOutput,
  detect: (command) => detectCli(command, { name: 'gemini', npmPackage: '@google/gemini-cli', helpArgs: ['--help'], requiredFlags: ['--output-format'] }),
};

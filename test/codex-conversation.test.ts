import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openConversation } from '../activities/execution/conversation.js';
import { LiveExecutions } from '../activities/execution/live-executions.js';
import { stdoutToEvents } from '../activities/execution/stdout-events.js';
import { parseJsonLine, type JsonLine } from '../activities/executors/cli-support.js';
import { codexAdapter } from '../activities/executors/codex.js';
import { runProcess, type ProcessOutcome } from '../activities/executors/process.js';
import type { ApprovalRequest } from '../core/contract/approvals.js';
import { repoRoot } from '../core/config/paths.js';
import type { CodexConfig } from '../core/contract/executor-profile.js';
import { EXECUTOR_INVOCATION_SCHEMA_VERSION, type ExecutorInvocation } from '../core/contract/executor-protocol.js';
import type { RunnerCommand, RunnerCommandReply } from '../core/contract/runner-commands.js';
import { Redactor } from '../core/contract/secrets.js';
import * as openai from './support/scripted-openai.js';

/**
 * Live input and interrupt for Codex, one level below the run workflow: the real `codex
 * app-server` driven by ao's conversation wiring (`openConversation`, the codex adapter's
 * conversation) and commands handed to the runner's `LiveExecutions`, exactly as the
 * `deliverCommand` activity hands them over, against the scripted Responses endpoint. (The
 * approval decision takes the whole path in `codex-approvals.test.ts`; the HTTP routes for input
 * and interrupt are not part of this change.)
 */

const codexBin = path.join(repoRoot, 'node_modules', '.bin', 'codex');
let endpoint: openai.ScriptedOpenAI;
const turns: openai.Turn[] = [];
let root: string;
const gates: Array<() => void> = [];

beforeAll(async () => {
  endpoint = await openai.startScriptedOpenAI(turns);
  // Outside /tmp, where codex refuses to set up its helpers.
  const cache = path.join(os.homedir(), '.cache');
  await fs.mkdir(cache, { recursive: true });
  root = await fs.mkdtemp(path.join(cache, 'ao-codex-conversation-'));
});
afterEach(() => {
  for (const release of gates.splice(0)) release();
  turns.length = Math.min(turns.length, endpoint.mainRequests.length);
});
afterAll(async () => {
  await endpoint?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const held = (text: string): openai.ReplyTurn => {
  const gate = openai.gate();
  gates.push(() => gate.release());
  return { ...openai.reply(text), until: gate.promise };
};

interface Session {
  deliver(command: RunnerCommand): RunnerCommandReply;
  /** Resolves with the first app-server line (raw) that matches. */
  line(matches: (line: JsonLine) => boolean): Promise<JsonLine>;
  requested: ApprovalRequest[];
  withdrawn: string[];
  finished: Promise<ProcessOutcome>;
  projectDir: string;
}

let sessions = 0;
async function startSession(prompt: string, config: Partial<CodexConfig> = {}, sessionId?: string): Promise<Session> {
  const runId = `conversation-${++sessions}`;
  const projectDir = await fs.mkdtemp(path.join(root, 'project-'));
  const codexHome = await fs.mkdtemp(path.join(root, 'codex-home-'));
  const invocation: ExecutorInvocation<CodexConfig> = {
    schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
    run_id: runId,
    agent: { name: 'codex-coder', type: 'autonomous' },
    prompt,
    parameters: {},
    executor_type: 'codex',
    executor_config: {
      model: 'gpt-5.5',
      provider: { name: 'local', base_url: `${endpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 },
      ...config,
    },
    workspace_dir: projectDir,
    ...(sessionId ? { session_id: sessionId } : {}),
  };
  const plan = codexAdapter.plan(invocation, [codexBin]);
  const live = new LiveExecutions();
  const requested: ApprovalRequest[] = [];
  const withdrawn: string[] = [];
  const emit = (): void => undefined;
  const conversation = openConversation({
    adapter: codexAdapter,
    invocation,
    policy: plan.supervision,
    emit,
    redactor: new Redactor(),
    reporter: { requested: (request) => requested.push(request), withdrawn: (id) => withdrawn.push(id) },
  });
  // The runner holds every execution this way (activities/execution/live-control.ts); here only the conversation's commands.
  live.register(runId, conversation.handle);
  const seen: JsonLine[] = [];
  const waiters: Array<{ matches: (line: JsonLine) => boolean; resolve: (line: JsonLine) => void }> = [];
  let pending = '';
  const finished = runProcess({
    argv: plan.argv,
    stdin: plan.stdin,
    cwd: projectDir,
    env: { PATH: process.env.PATH, HOME: root, CODEX_HOME: codexHome, OPENAI_API_KEY: 'test-key' },
    openStdin: conversation.wiring.onStdin,
    onRawStdout: (text) => {
      conversation.wiring.onRawStdout(text);
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const parsed of lines.map(parseJsonLine)) {
        if (!parsed) continue;
        seen.push(parsed);
        for (const waiter of waiters.filter((candidate) => candidate.matches(parsed))) waiter.resolve(parsed);
      }
    },
    onStdout: stdoutToEvents((line) => codexAdapter.parseLine?.(line) ?? [], emit, () => undefined),
  }).finally(() => conversation.close('the executor ended'));
  return {
    deliver: (command) => live.deliver(runId, command),
    line: (matches) => {
      const already = seen.find(matches);
      return already ? Promise.resolve(already) : new Promise((resolve) => waiters.push({ matches, resolve }));
    },
    requested,
    withdrawn,
    finished,
    projectDir,
  };
}

const turnCompleted = (status: string) => (line: JsonLine): boolean => line.method === 'turn/completed' && (line.params as { turn: { status: string } }).turn.status === status;
const userTexts = (request: openai.RecordedRequest): string => openai.messageTexts(request, 'user').join('\n');

describe('a Codex conversation', () => {
  it('takes input mid-turn into the running turn, and the endpoint sees it', async () => {
    turns.push(held('Thinking.'), openai.reply('Steered.'));
    const before = endpoint.mainRequests.length;
    const session = await startSession('think about birds');
    await endpoint.waitForMainRequest(before + 1);
    expect(session.deliver({ kind: 'input', text: 'also mention pelicans', by: 'omar' })).toEqual({ delivered: true, queued: false });
    // Codex accepted the steer for the running turn before the held reply is let go.
    await session.line((line) => typeof (line.result as { turnId?: string } | undefined)?.turnId === 'string');
    gates.at(-1)!();
    const output = codexAdapter.interpret(await session.finished, { executor_config: {}, agent: { name: 'codex-coder', type: 'autonomous' } } as never);
    expect(output).toMatchObject({ status: 'completed', result_data: { text: 'Steered.' } });
    expect(endpoint.mainRequests).toHaveLength(before + 2);
    expect(userTexts(endpoint.mainRequests[before + 1]!)).toContain('also mention pelicans');
  });

  it('is interrupted, keeps its session, and the next input starts a new turn that completes the run', async () => {
    turns.push(held('never sent'), openai.reply('After the interrupt.'));
    const before = endpoint.mainRequests.length;
    const session = await startSession('take your time');
    await endpoint.waitForMainRequest(before + 1);
    expect(session.deliver({ kind: 'interrupt', by: 'omar' })).toEqual({ delivered: true });
    await session.line(turnCompleted('interrupted'));
    expect(session.deliver({ kind: 'interrupt', by: 'omar' })).toEqual({ delivered: false, reason: 'no turn is running' });
    expect(session.deliver({ kind: 'input', text: 'start over, briefly', by: 'omar' })).toEqual({ delivered: true, queued: false });
    const outcome = await session.finished;
    expect(codexAdapter.interpret(outcome, { executor_config: {}, agent: { name: 'codex-coder', type: 'autonomous' } } as never)).toMatchObject({ status: 'completed', result_data: { text: 'After the interrupt.' } });
    expect(endpoint.mainRequests).toHaveLength(before + 2);
    const next = userTexts(endpoint.mainRequests[before + 1]!);
    expect(next).toContain('start over, briefly');
    expect(next).toContain('take your time');
  });

  it('withdraws a pending approval when interrupted, and the command never runs', async () => {
    turns.push(openai.runCommand('touch interrupted.txt'), openai.reply('Carried on.'));
    const before = endpoint.mainRequests.length;
    const session = await startSession('create interrupted.txt', { approval_required_tools: ['exec_command'] });
    await session.line((line) => line.method === 'item/commandExecution/requestApproval');
    await expect.poll(() => session.requested.length).toBe(1);
    expect(session.deliver({ kind: 'interrupt', by: 'omar' })).toEqual({ delivered: true });
    expect(session.withdrawn).toEqual([session.requested[0]!.id]);
    await session.line(turnCompleted('interrupted'));
    session.deliver({ kind: 'input', text: 'never mind the file', by: 'omar' });
    expect(codexAdapter.interpret(await session.finished, { executor_config: {}, agent: { name: 'codex-coder', type: 'autonomous' } } as never)).toMatchObject({ status: 'completed', result_data: { text: 'Carried on.' } });
    await expect(fs.stat(path.join(session.projectDir, 'interrupted.txt'))).rejects.toThrow();
    expect(userTexts(endpoint.mainRequests.at(-1)!)).toContain('never mind the file');
    expect(endpoint.mainRequests).toHaveLength(before + 2);
  });

  it('runs a command the supervised profile does not name at once, asking nobody', async () => {
    turns.push({ tools: [{ tool: 'exec_command', input: { cmd: 'touch unnamed.txt' }, id: 'call_unnamed' }] }, openai.reply('Made it.'));
    const session = await startSession('create unnamed.txt', { approval_required_tools: ['apply_patch'] });
    // Codex asks (policy untrusted); ao's policy answers at once, since only patches wait for a person.
    await session.line((line) => line.method === 'item/commandExecution/requestApproval');
    expect(codexAdapter.interpret(await session.finished, { executor_config: {}, agent: { name: 'codex-coder', type: 'autonomous' } } as never)).toMatchObject({ status: 'completed', result_data: { text: 'Made it.' } });
    expect(session.requested).toEqual([]);
    await fs.stat(path.join(session.projectDir, 'unnamed.txt'));
  });

  it('fails readably when the thread to resume does not exist, without asking the model', async () => {
    const before = endpoint.mainRequests.length;
    const session = await startSession('carry on', {}, '01a23200-0000-7000-8000-000000000000');
    expect(codexAdapter.interpret(await session.finished, { executor_config: {}, agent: { name: 'codex-coder', type: 'autonomous' } } as never)).toEqual({ status: 'failed', error: 'codex: no rollout found for thread id 01a23200-0000-7000-8000-000000000000' });
    expect(endpoint.mainRequests).toHaveLength(before);
  });

  it('refuses input once the session has ended', async () => {
    turns.push(openai.reply('Short.'));
    const session = await startSession('be brief');
    await session.finished;
    expect(session.deliver({ kind: 'input', text: 'too late', by: 'omar' })).toMatchObject({ delivered: false });
  });
});

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openConversation } from '../activities/execution/conversation.js';
import { LiveExecutions } from '../activities/execution/live-executions.js';
import { stdoutToEvents } from '../activities/execution/stdout-events.js';
import type { ExecutorEvent } from '../activities/executors/contract.js';
import { geminiAdapter } from '../activities/executors/gemini.js';
import { keepSessionFileApart, sessionFileName } from '../activities/executors/gemini-sessions.js';
import { runProcess, type ProcessOutcome } from '../activities/executors/process.js';
import type { ApprovalRequest } from '../core/contract/approvals.js';
import { repoRoot } from '../core/config/paths.js';
import type { GeminiConfig } from '../core/contract/executor-profile.js';
import { EXECUTOR_INVOCATION_SCHEMA_VERSION, type ExecutorInvocation, type ExecutorOutput } from '../core/contract/executor-protocol.js';
import type { RunnerCommand, RunnerCommandReply } from '../core/contract/runner-commands.js';
import { Redactor } from '../core/contract/secrets.js';
import { cliHarness } from './support/cli-run.js';
import * as gemini from './support/scripted-gemini.js';
import { eventually } from './support/stack.js';

/**
 * Live input and interrupt for Gemini, one level below a run: the real gemini CLI over ACP against
 * the scripted endpoint, wired as the runner wires an execution (the adapter's conversation, its
 * approval desk, the runner's live executions), with each command delivered where the runner
 * command path's `deliverCommand` hands it: `LiveExecutions.deliver`.
 */

const harness = cliHarness();
const bin = path.join(repoRoot, 'node_modules', '.bin', 'gemini');
const model = 'gemini-2.5-pro';

interface Conversing {
  deliver(command: RunnerCommand): RunnerCommandReply;
  events: ExecutorEvent[];
  requested: ApprovalRequest[];
  withdrawn: string[];
  finished: Promise<ProcessOutcome>;
  output(): Promise<ExecutorOutput>;
}

/** A fresh project and settings home; the home may be shared by runs that continue a session. */
async function workspace(): Promise<{ project: string; home: string }> {
  const { project, home } = await harness.tempDirs('ao-gemini-acp-', ['project', 'home']);
  return { project, home };
}

async function converse(endpoint: gemini.ScriptedGemini, where: { project: string; home: string }, prompt: string, extra: { config?: Partial<GeminiConfig>; session_id?: string } = {}): Promise<Conversing> {
  const runId = crypto.randomUUID();
  const invocation: ExecutorInvocation<GeminiConfig> = {
    schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
    run_id: runId,
    agent: { name: 'gemini-coder', type: 'coder' },
    prompt,
    parameters: {},
    executor_type: 'gemini',
    executor_config: { model, settings: { general: { maxAttempts: 1 } }, ...extra.config },
    workspace_dir: where.project,
    ...(extra.session_id ? { session_id: extra.session_id } : {}),
  };
  const plan = geminiAdapter.plan(invocation, [bin]);
  const prepared = await geminiAdapter.prepare!(invocation, { home: where.home });
  const env = { PATH: process.env.PATH, ...prepared, GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url };
  const events: ExecutorEvent[] = [];
  const requested: ApprovalRequest[] = [];
  const withdrawn: string[] = [];
  const emit = (kind: ExecutorEvent['kind'], data: Record<string, unknown>): void => void events.push({ kind, data });
  const live = new LiveExecutions();
  const redactor = new Redactor(['test-key']);
  const conversation = openConversation({
    adapter: geminiAdapter,
    invocation,
    policy: plan.supervision,
    emit,
    redactor,
    reporter: { requested: (request) => void requested.push(request), withdrawn: (id) => void withdrawn.push(id) },
  });
  // The runner holds every execution this way (activities/execution/live-control.ts); here only the conversation's commands.
  live.register(runId, conversation.handle);
  const abort = new AbortController();
  harness.defer(() => abort.abort());
  const finished = runProcess({
    argv: plan.argv,
    stdin: plan.stdin,
    env,
    cwd: where.project,
    redactor,
    signal: abort.signal,
    killGraceMs: 1_000,
    openStdin: conversation.wiring.onStdin,
    onRawStdout: conversation.wiring.onRawStdout,
    onStdout: stdoutToEvents(conversation.parseLine, emit, () => undefined),
  }).finally(() => conversation.close('the executor ended'));
  harness.defer(() => finished.catch(() => undefined));
  return { deliver: (command) => live.deliver(runId, command), events, requested, withdrawn, finished, output: async () => geminiAdapter.interpret(await finished, invocation) };
}

/** The user texts a main request sent the model, in order. */
const userTexts = (request: gemini.RecordedRequest): string[] =>
  gemini
    .contentsOf(request)
    .filter((content) => content.role === 'user')
    .flatMap((content) => content.parts.flatMap((part) => (typeof part.text === 'string' ? [part.text] : [])));
const serve = async (turns: gemini.Turn[]): Promise<gemini.ScriptedGemini> => harness.closeAfter(await gemini.startScriptedGemini(turns));
/** Lets the conversation's protocol client take in what the CLI last sent (it reads on promise jobs). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a gemini conversation over ACP', () => {
  it('holds input sent during a turn and sends it as the next prompt once the turn ends', async () => {
    const first = gemini.gate();
    const endpoint = await serve([gemini.reply('First.', { until: first.promise }), gemini.reply('Second.')]);
    const run = await converse(endpoint, await workspace(), 'say first');
    await endpoint.waitForMainRequest(1);

    expect(run.deliver({ kind: 'input', text: 'and now second', by: 'gail' })).toEqual({ delivered: true, queued: true });
    expect(endpoint.mainRequests, 'held while the turn runs').toHaveLength(1);
    first.release();

    const outcome = await run.finished;
    expect(outcome.exitCode).toBe(0);
    expect(endpoint.mainRequests).toHaveLength(2);
    expect(userTexts(endpoint.mainRequests[1]!).at(-1)).toBe('and now second');
    expect(JSON.stringify(endpoint.mainRequests[1]!.body)).toContain('First.');
    expect(await run.output()).toMatchObject({ status: 'completed', result_data: { text: 'Second.', prompts: 2 } });
    expect(run.events.filter((event) => event.kind === 'message').map((event) => event.data.text)).toEqual(['First.', 'Second.']);
  });

  it('refuses an interrupt while no turn runs, with the reason', async () => {
    const endpoint = await serve([gemini.reply('Done.')]);
    const run = await converse(endpoint, await workspace(), 'anything');
    // Still in the ACP handshake (initialize takes seconds): no prompt has been sent yet.
    expect(run.deliver({ kind: 'interrupt' })).toEqual({ delivered: false, reason: 'no gemini turn is running' });
    expect((await run.output()).status).toBe('completed');
  });

  it('interrupts the running turn, keeps the session, and takes the next input as a new prompt', async () => {
    const never = gemini.gate();
    harness.defer(() => never.release());
    const endpoint = await serve([gemini.reply('never sent', { until: never.promise }), gemini.reply('Carried on.')]);
    const run = await converse(endpoint, await workspace(), 'think hard');
    await endpoint.waitForMainRequest(1);

    expect(run.deliver({ kind: 'interrupt', by: 'gail' })).toEqual({ delivered: true });
    await eventually(() => {
      if (!run.events.some((event) => event.kind === 'usage_tick' && event.data.stop_reason === 'cancelled')) throw new Error('the turn has not ended');
    });
    await settled();
    // The session waits: input starts the next prompt at once.
    expect(run.deliver({ kind: 'input', text: 'carry on instead' })).toEqual({ delivered: true, queued: false });

    expect((await run.finished).exitCode).toBe(0);
    expect(endpoint.mainRequests).toHaveLength(2);
    expect(userTexts(endpoint.mainRequests[1]!)).toContain('carry on instead');
    expect(await run.output()).toMatchObject({ status: 'completed', result_data: { text: 'Carried on.' } });
  });

  it('takes input sent while an interrupted turn is still ending as the next turn, and ends after it', async () => {
    const never = gemini.gate();
    harness.defer(() => never.release());
    const endpoint = await serve([gemini.callTool('run_shell_command', { command: 'echo working' }, { until: never.promise }), gemini.reply('Starting over.')]);
    const run = await converse(endpoint, await workspace(), 'work on it');
    await endpoint.waitForMainRequest(1);
    // Back to back: the cancelled turn cannot have ended in between, so the input is held for the turn after it.
    expect(run.deliver({ kind: 'interrupt', by: 'gail' })).toEqual({ delivered: true });
    expect(run.deliver({ kind: 'input', text: 'start over with the apple' })).toEqual({ delivered: true, queued: true });
    // The interrupt was of the first turn only: once the second has answered, the session ends (it once waited for more input).
    expect((await run.finished).exitCode).toBe(0);
    expect(endpoint.mainRequests).toHaveLength(2);
    expect(userTexts(endpoint.mainRequests[1]!)).toContain('start over with the apple');
    expect(await run.output()).toMatchObject({ status: 'completed', result_data: { text: 'Starting over.' } });
  });

  it('answers a pending permission request when interrupted, withdrawing its approval, and the tool never runs', async () => {
    const endpoint = await serve([gemini.callTool('run_shell_command', { command: 'touch never.txt' }), gemini.reply('Fine.')]);
    const where = await workspace();
    const run = await converse(endpoint, where, 'create never.txt', { config: { approval_required_tools: ['run_shell_command'] } });
    const request = await eventually(() => run.requested[0] ?? Promise.reject(new Error('no approval requested yet')));
    expect(request).toMatchObject({ tool: 'run_shell_command', command: 'touch never.txt' });

    expect(run.deliver({ kind: 'interrupt' })).toEqual({ delivered: true });
    expect(run.withdrawn).toEqual([request.id]);
    await eventually(() => {
      if (!run.events.some((event) => event.kind === 'usage_tick' && event.data.stop_reason === 'cancelled')) throw new Error('the turn has not ended');
    });
    await settled();
    expect(run.deliver({ kind: 'input', text: 'never mind' })).toEqual({ delivered: true, queued: false });
    expect((await run.output()).status).toBe('completed');
    await expect(fs.stat(path.join(where.project, 'never.txt'))).rejects.toThrow();
    expect(run.events.find((event) => event.kind === 'tool_result')?.data).toMatchObject({ is_error: true, output: 'interrupted before an answer' });
  });

  it('loads an earlier session, sends its history to the model, and reports only the new turn', async () => {
    const endpoint = await serve([gemini.reply('The word is pelican.'), gemini.reply('It was pelican.')]);
    const where = await workspace();
    const first = await converse(endpoint, where, 'remember the word pelican');
    const { session_id: sessionId } = await first.output();
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    // Named for this very minute, as a session begun now is: the case gemini's own session/load gets wrong.
    const chats = path.join(where.home, '.cache', 'ao', 'gemini-home', '.gemini', 'tmp', path.basename(where.project), 'chats');
    const [file] = (await fs.readdir(chats)).filter((name) => name.endsWith(`-${sessionId!.slice(0, 8)}.jsonl`));
    await fs.rename(path.join(chats, file!), path.join(chats, sessionFileName(new Date(), sessionId!)));
    const second = await converse(endpoint, where, 'what was the word?', { session_id: sessionId! });
    expect(await second.output()).toMatchObject({ status: 'completed', session_id: sessionId, result_data: { text: 'It was pelican.' } });
    expect(userTexts(endpoint.mainRequests[1]!)).toEqual(expect.arrayContaining(['remember the word pelican', 'what was the word?']));
    expect(second.events.filter((event) => event.kind === 'message').map((event) => event.data.text)).toEqual(['It was pelican.']);
    expect(second.events.filter((event) => event.kind === 'session_started').map((event) => event.data.session_id)).toEqual([sessionId]);
  });
});

describe('keeping a loaded session\'s file apart from the one gemini starts', () => {
  const id = '0aa95939-c23a-495e-b331-a37f6bd74e08';
  const now = new Date('2026-12-01T14:29:30Z');

  async function chatsWith(files: string[]): Promise<string> {
    const { home } = await harness.tempDirs('ao-gemini-sessions-', ['home']);
    const chats = path.join(home, '.gemini', 'tmp', 'project', 'chats');
    await fs.mkdir(chats, { recursive: true });
    for (const file of files) await fs.writeFile(path.join(chats, file), '{}\n');
    return home;
  }
  const listed = (home: string): Promise<string[]> => fs.readdir(path.join(home, '.gemini', 'tmp', 'project', 'chats')).then((files) => files.sort());

  it('renames the file of a session begun this minute to a free earlier minute, and leaves others alone', async () => {
    const home = await chatsWith(['session-2026-12-01T14-29-0aa95939.jsonl', 'session-2026-12-01T14-28-0aa95939.jsonl', 'session-2026-12-01T14-29-ffffffff.jsonl']);
    await keepSessionFileApart(home, id, now);
    expect(await listed(home)).toEqual(['session-2026-12-01T14-27-0aa95939.jsonl', 'session-2026-12-01T14-28-0aa95939.jsonl', 'session-2026-12-01T14-29-ffffffff.jsonl']);
  });

  it('leaves a session begun in an earlier minute as it is', async () => {
    const home = await chatsWith(['session-2026-12-01T14-12-0aa95939.jsonl']);
    await keepSessionFileApart(home, id, now);
    expect(await listed(home)).toEqual(['session-2026-12-01T14-12-0aa95939.jsonl']);
  });

  it('touches nothing for a session id that is not gemini\'s own, such as a path', async () => {
    const home = await chatsWith(['session-2026-12-01T14-29-0aa95939.jsonl']);
    await keepSessionFileApart(home, '../../..', now);
    await keepSessionFileApart(path.join(home, 'missing'), id, now);
    expect(await listed(home)).toEqual(['session-2026-12-01T14-29-0aa95939.jsonl']);
  });
});

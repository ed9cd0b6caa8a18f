import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupIsAlive } from '../activities/containment/run-container.js';
import { git } from '../activities/git.js';
import type { RunEvent } from '../core/contract/events.js';
import { repoRoot } from '../core/config/paths.js';
import type { RunView } from '../core/contract/http.js';
import * as anthropic from './support/scripted-anthropic.js';
import * as gemini from './support/scripted-gemini.js';
import * as openai from './support/scripted-openai.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';
import { gitProject as initGitProject } from './support/git-project.js';

/**
 * The executor contract: the same scenarios, by the same names, against every agent CLI driver,
 * each a real CLI from npm driven through the whole system against a scripted vendor endpoint.
 * A CLI upgrade that breaks a driver fails one named scenario of one executor.
 */

/** What a scenario asks of a vendor's script, whatever its wire format. */
interface Script {
  write(file: string, content: string): unknown[];
  edit(file: string, from: string, to: string): unknown[];
  shell(command: string): unknown[];
  reply(text: string): unknown;
  apiError(): unknown;
  held(until: Promise<void>): unknown;
  /** A shell tool call the endpoint answers only once `until` resolves (the turn is then mid-way). */
  heldShell(command: string, until: Promise<void>): unknown;
  /** The turn, reporting this usage for its model request in the vendor's own shape. */
  counted(turn: unknown, usage: { input: number; output: number }): unknown;
}

interface Endpoint {
  url: string;
  mainRequests: Array<{ body: unknown }>;
  waitForMainRequest(count: number): Promise<unknown>;
  close(): Promise<void>;
}

interface Kit {
  type: 'claude-code' | 'codex' | 'gemini';
  agent: string;
  script: Script;
  serve(turns: unknown[]): Promise<Endpoint>;
  /** The profile's config; `strict` forbids shell commands starting with `echo`. */
  config(endpoint: Endpoint, strict: boolean, scratch: string): Promise<Record<string, unknown>>;
  env(endpoint: Endpoint, home: string): NodeJS.ProcessEnv;
  /** Whether the CLI reports a cost of its own. */
  reportsCost: boolean;
  /** The model's price the run's cost comes from (the CLI's own, or ao's price table), USD per million tokens. */
  price: { input: number; output: number };
  /** Input sent mid-turn reaches the current turn; else it is held until the turn ends (`202 { queued: true }`). */
  steers: boolean;
  /** A shipped agent of this type with an output schema, and an answer matching it. */
  structured: { agent: string; answer: Record<string, unknown> };
  /** Where the schema reaches the model: the CLI's own means (codex: the request's `text.format`), else a prompt note. */
  schemaSeen(request: { body: unknown }): boolean;
}

const note = (request: { body: unknown }): boolean => JSON.stringify(request.body).includes('matching this JSON Schema');
const verdict = { verdict: 'request_changes', comments: ['name the constant'] };

const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);

const kits: Kit[] = [
  {
    type: 'claude-code',
    agent: 'coder',
    reportsCost: true,
    price: { input: 3, output: 15 },
    steers: true,
    structured: { agent: 'summarizer', answer: { summary: 'a small app', files: ['README.md'] } },
    schemaSeen: note,
    script: {
      write: (file, content) => [anthropic.callTool('Write', { file_path: file, content })],
      edit: (file, from, to) => [anthropic.callTool('Read', { file_path: file }), anthropic.callTool('Edit', { file_path: file, old_string: from, new_string: to })],
      shell: (command) => [anthropic.callTool('Bash', { command })],
      reply: (text) => anthropic.reply(text),
      apiError: () => anthropic.apiError(529, 'overloaded_error', 'Overloaded', { shouldRetry: false }),
      held: (until) => ({ ...anthropic.reply('never sent'), until }),
      heldShell: (command, until) => ({ ...anthropic.callTool('Bash', { command }), until }),
      counted: (turn, { input, output }) => ({ ...(turn as object), usage: { input_tokens: input, output_tokens: output } }),
    },
    serve: (turns) => anthropic.startScriptedAnthropic(turns as anthropic.Turn[]),
    config: (_endpoint, strict) =>
      Promise.resolve({
        permission_mode: 'acceptEdits',
        model: 'claude-sonnet-4-5',
        ...(strict ? { disallowed_tools: ['Bash(echo:*)'] } : { allowed_tools: ['Read', 'Edit', 'Write', 'Bash(echo:*)'] }),
      }),
    env: (endpoint, home) => ({ ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home }),
  },
  {
    type: 'codex',
    agent: 'codex-coder',
    reportsCost: false,
    price: { input: 1.25, output: 10 },
    steers: true,
    structured: { agent: 'codex-reviewer', answer: verdict },
    schemaSeen: (request) => {
      const format = (request.body as { text?: { format?: { type?: string; schema?: unknown } } }).text?.format;
      return format?.type === 'json_schema' && JSON.stringify(format.schema).includes('request_changes');
    },
    script: {
      // apply_patch paths are relative to the workspace, where the scenarios' files are.
      write: (file, content) => [openai.applyPatch(`*** Begin Patch\n*** Add File: ${path.basename(file)}\n${content.split('\n').filter(Boolean).map((line) => `+${line}`).join('\n')}\n*** End Patch\n`)],
      edit: (file, from, to) => [openai.applyPatch(`*** Begin Patch\n*** Update File: ${path.basename(file)}\n@@\n-status: ${from}\n+status: ${to}\n*** End Patch\n`)],
      shell: (command) => [openai.runCommand(command)],
      reply: (text) => openai.reply(text),
      apiError: () => openai.apiError(400, 'invalid_request_error', 'the scripted endpoint says no'),
      held: (until) => ({ ...openai.reply('never sent'), until }),
      heldShell: (command, until) => ({ ...openai.runCommand(command), until }),
      counted: (turn, { input, output }) => ({ ...(turn as object), usage: { input_tokens: input, output_tokens: output } }),
    },
    serve: (turns) => openai.startScriptedOpenAI(turns as openai.Turn[]),
    config: (endpoint, strict) =>
      Promise.resolve({
        model: 'gpt-5.5',
        sandbox: strict ? 'read-only' : 'workspace-write',
        provider: { name: 'local', base_url: `${endpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 },
        // gpt-5.5 is not in the shipped price table: the profile prices it.
        prices: { 'gpt-5.5': { input: 1.25, output: 10 } },
      }),
    // codex keeps its helpers out of temporary folders: CODEX_HOME lives under the runner's HOME.
    env: (_endpoint, home) => ({ OPENAI_API_KEY: 'test-key', HOME: home, CODEX_HOME: path.join(home, 'codex-home') }),
  },
  {
    type: 'gemini',
    agent: 'gemini-coder',
    reportsCost: false,
    price: { input: 1.25, output: 10 },
    steers: false,
    structured: { agent: 'gemini-reviewer', answer: verdict },
    schemaSeen: note,
    script: {
      write: (file, content) => [gemini.callTool('write_file', { file_path: file, content })],
      edit: (file, from, to) => [gemini.callTool('replace', { file_path: file, instruction: 'update the status', old_string: from, new_string: to })],
      shell: (command) => [gemini.callTool('run_shell_command', { command })],
      reply: (text) => gemini.reply(text),
      apiError: () => gemini.apiError(500, 'INTERNAL', 'the scripted endpoint broke'),
      held: (until) => ({ ...gemini.reply('never sent'), until }),
      heldShell: (command, until) => ({ ...gemini.callTool('run_shell_command', { command }), until }),
      counted: (turn, { input, output }) => ({ ...(turn as object), usage: { promptTokenCount: input, candidatesTokenCount: output } }),
    },
    serve: (turns) => gemini.startScriptedGemini(turns as gemini.Turn[]),
    config: async (_endpoint, strict, scratch) => {
      const policy = path.join(scratch, 'deny-echo.toml');
      await fs.writeFile(policy, ['[[rule]]', 'toolName = "run_shell_command"', 'commandPrefix = "echo"', 'decision = "deny"', 'priority = 500', 'denyMessage = "echo is not allowed here"', ''].join('\n'));
      return { model: 'gemini-2.5-pro', settings: { general: { maxAttempts: 1 } }, ...(strict ? { policy } : {}) };
    },
    env: (endpoint, home) => ({ GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url, HOME: home }),
  },
];

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

/** A git project: runs work in worktrees, `<project>/.ao/worktrees/<session>`, on branches of their own. */
const gitProject = async (parent: string): Promise<string> => initGitProject(await fs.mkdtemp(path.join(parent, 'project-')), { 'edited.md': 'status: draft\n' });

describe.each(kits)('the $type executor', (kit) => {
  const turns: unknown[] = [];
  let endpoint: Endpoint;
  const runners = { normal: { tag: '', projectDir: '' }, strict: { tag: '', projectDir: '' } };
  /** The folder a session's runs work in. */
  const worktree = (session: string, mode: 'normal' | 'strict' = 'normal'): string => path.join(runners[mode].projectDir, '.ao', 'worktrees', session);
  /** A file as the run left it on its branch. */
  const onBranch = (view: RunView, file: string): Promise<string> => git(runners.normal.projectDir, ['show', `${view.workspace!.branch!}:${file}`]);

  beforeAll(async () => {
    endpoint = await kit.serve(turns);
    const scratch = await fs.mkdtemp(path.join(stack.root, `${kit.type}-`));
    for (const mode of ['normal', 'strict'] as const) {
      const profiles = await fs.mkdtemp(path.join(scratch, 'profiles-'));
      const home = await fs.mkdtemp(path.join(scratch, 'home-'));
      await fs.mkdir(path.join(home, 'codex-home'));
      // The CLI's own home (CODEX_HOME passes through): the executor user writes there, as it would in a deployment.
      await ownedByExecutor(home);
      const command = kit.type === 'claude-code' ? bin('claude') : bin(kit.type);
      const env = kit.env(endpoint, home);
      // The vendor settings reach the executor only because the profile passes them through.
      const config = { ...(await kit.config(endpoint, mode === 'strict', scratch)), env_passthrough: Object.keys(env).filter((name) => name !== 'HOME') };
      await fs.writeFile(path.join(profiles, 'contract.json'), JSON.stringify({ type: kit.type, command: [command], config }));
      const tag = uniqueTag(`${kit.type}-${mode}`);
      const runner = await stack.startRunner({ profile: 'contract', tags: [tag], projectDir: await gitProject(scratch), extraArgs: ['--profiles-dir', profiles], env });
      runners[mode] = { tag, projectDir: runner.projectDir };
    }
  });
  afterAll(async () => {
    await endpoint?.close();
  });

  const run = async (prompt: string, mode: 'normal' | 'strict' = 'normal', extra: Record<string, unknown> = {}): Promise<RunView> =>
    (await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: kit.agent, prompt, additional_demands: { tags: [runners[mode].tag] }, ...extra } })).body;
  const events = (id: string): Promise<RunEvent[]> =>
    eventually(async () => {
      const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
      if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
      return body.events;
    });

  it('writes a file', async () => {
    const session = uniqueTag('write');
    turns.push(...kit.script.write(path.join(worktree(session), 'written.md'), 'status: draft\n'), kit.script.reply('Written.'));
    const result = await run('write the file', 'normal', { session_id: session });
    expect(result.status).toBe('completed');
    expect(result.workspace).toMatchObject({ mode: 'worktree', dir: worktree(session), branch: `ao/${result.id}`, diff: { files_changed: 1 } });
    expect(await onBranch(result, 'written.md')).toBe('status: draft\n');
    expect((await events(result.id)).filter((event) => event.kind === 'file_touched').map((event) => event.data.path)).toEqual(['written.md']);
  });

  it('edits a file', async () => {
    const session = uniqueTag('edit');
    turns.push(...kit.script.edit(path.join(worktree(session), 'edited.md'), 'draft', 'final'), kit.script.reply('Edited.'));
    const result = await run('edit the file', 'normal', { session_id: session });
    expect(result.status).toBe('completed');
    expect(await onBranch(result, 'edited.md')).toBe('status: final\n');
    // The project's own checkout is not where runs work.
    expect(await fs.readFile(path.join(runners.normal.projectDir, 'edited.md'), 'utf8')).toBe('status: draft\n');
  });

  it('runs a shell command', async () => {
    turns.push(...kit.script.shell('echo built > build.log'), kit.script.reply('Built.'));
    const result = await run('build');
    expect(result.status).toBe('completed');
    expect(await onBranch(result, 'build.log')).toBe('built\n');
    expect((await events(result.id)).some((event) => event.kind === 'tool_result')).toBe(true);
  });

  it('refuses a tool the policy forbids', async () => {
    const session = uniqueTag('refused');
    turns.push(...kit.script.shell('echo hi > refused.txt'), kit.script.reply('It was refused.'));
    const result = await run('try the command', 'strict', { session_id: session });
    expect(result.status).toBe('completed');
    expect(result.workspace).toMatchObject({ dir: worktree(session, 'strict'), diff: { files_changed: 0 } });
  });

  it('resumes a session', async () => {
    const session = uniqueTag('contract-session');
    turns.push(kit.script.reply('First.'));
    const first = await run('remember the word pelican', 'normal', { session_id: session });
    turns.push(kit.script.reply('Second.'));
    const second = await run('what was the word?', 'normal', { session_id: session, mode: 'resume' });
    expect(second.status).toBe('completed');
    expect(second.executor_session_id).toBe(first.executor_session_id);
    expect(JSON.stringify(endpoint.mainRequests.at(-1)!.body)).toContain('remember the word pelican');
  });

  it('carries a session’s work forward: run 2 edits what run 1 wrote, and reports its own usage', async () => {
    const session = uniqueTag('carry');
    const file = path.join(worktree(session), 'carried.md');
    turns.push(...kit.script.write(file, 'status: one\n'), kit.script.reply('Wrote one.'));
    const first = await run('write the file', 'normal', { session_id: session });
    expect(first.status, JSON.stringify(first.error)).toBe('completed');
    expect(await onBranch(first, 'carried.md')).toBe('status: one\n');

    // Run 2's model requests each report a usage run 1's never did: what the run reports is its own.
    const perRequest = { input: 1000, output: 7 };
    turns.push(...[...kit.script.edit(file, 'one', 'two'), kit.script.reply('Now two.')].map((turn) => kit.script.counted(turn, perRequest)));
    const before = endpoint.mainRequests.length;
    const second = await run('now make it two', 'normal', { session_id: session, mode: 'resume' });
    expect(second.status, JSON.stringify(second.error)).toBe('completed');
    expect(second.executor_session_id).toBe(first.executor_session_id);
    // On a branch of its own that starts where run 1 ended, in the same folder.
    expect(second.workspace).toMatchObject({ dir: worktree(session), branch: `ao/${second.id}`, base_commit: first.workspace!.head_commit, diff: { files_changed: 1 } });
    expect(await onBranch(second, 'carried.md')).toBe('status: two\n');
    expect(await onBranch(first, 'carried.md')).toBe('status: one\n');
    expect((second.result as { tool_errors?: unknown }).tool_errors).toBeUndefined();

    const requests = endpoint.mainRequests.length - before;
    expect(requests).toBeGreaterThanOrEqual(2);
    const { usage, cost_usd: cost } = second.result as { cost_usd?: number; usage: { input_tokens: number; output_tokens: number; cache_read_tokens: number; cost_usd?: number } };
    expect(usage.input_tokens + usage.cache_read_tokens).toBe(requests * perRequest.input);
    expect(usage.output_tokens).toBe(requests * perRequest.output);
    const expectedCost = (requests * (perRequest.input * kit.price.input + perRequest.output * kit.price.output)) / 1e6;
    expect(cost ?? usage.cost_usd).toBeCloseTo(expectedCost, 8);
  });

  it('fails with a readable cause when the vendor API errors', async () => {
    turns.push(kit.script.apiError());
    const result = await run('anything');
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(new RegExp(`^(claude|codex|gemini): .*(529|says no|broke)`));
  });

  it('stops in the middle of a turn', async () => {
    let release!: () => void;
    turns.push(kit.script.held(new Promise<void>((resolve) => (release = resolve))));
    const before = endpoint.mainRequests.length;
    const id = await stack.postRun({ agent: kit.agent, prompt: 'think', additional_demands: { tags: [runners.normal.tag] } });
    await endpoint.waitForMainRequest(before + 1);
    const running = await stack.waitForRun(id, (view) => view.status === 'running');
    const pgid = Number(/pid (\d+)/.exec(running.history.at(-1)!.reason!)![1]);
    const { body } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`);
    release();
    expect(body.status).toBe('stopped');
    expect(groupIsAlive(pgid)).toBe(false);
  });

  /** A run mid-turn: its model request held by the endpoint until `release`. */
  const midTurn = async (prompt: string): Promise<{ id: string; release: () => void; before: number }> => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    const before = endpoint.mainRequests.length;
    turns.push(kit.script.heldShell('echo working', until));
    const id = await stack.postRun({ agent: kit.agent, prompt, additional_demands: { tags: [runners.normal.tag] } });
    await endpoint.waitForMainRequest(before + 1);
    await stack.waitForRun(id, (view) => view.status === 'running');
    return { id, release, before };
  };
  const command = (id: string, what: string, body?: Record<string, unknown>) =>
    stack.api<{ delivered?: boolean; queued?: boolean; error?: string }>('POST', `/runs/${id}/${what}`, body ? { body } : {});
  const seenAfter = (before: number, text: string): boolean => endpoint.mainRequests.slice(before).some((request) => JSON.stringify(request.body).includes(text));

  it('takes input mid-turn', async () => {
    const { id, release, before } = await midTurn('work on it');
    // A steering CLI folds the input into this turn; one that cannot takes it as the next prompt once the turn ends.
    turns.push(kit.script.reply('Working, noted.'), ...(kit.steers ? [] : [kit.script.reply('Noted the banana.')]));
    const sent = await command(id, 'input', { text: 'also mention the banana' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(kit.steers ? 200 : 202);
    expect(sent.body).toMatchObject({ delivered: true, queued: !kit.steers });
    release();
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(seenAfter(before + 1, 'also mention the banana')).toBe(true);
  });

  it('is interrupted, then takes input that starts a new turn', async () => {
    const { id, release, before } = await midTurn('work on it');
    turns.push(kit.script.reply('Starting over, as asked.'));
    const interrupted = await command(id, 'interrupt');
    expect(interrupted.status, JSON.stringify(interrupted.body)).toBe(200);
    // The held answer is never sent: the interrupt ends the model request it would answer.
    const sent = await command(id, 'input', { text: 'start over with the apple' });
    expect([200, 202]).toContain(sent.status);
    const run = await stack.waitForRun(id).catch(async (error: Error) => {
      const seen = (await events(id)).map((event) => `${event.kind} ${JSON.stringify(event.data).slice(0, 300)}`);
      const requests = endpoint.mainRequests.slice(before).map((request) => `turn ${(request as { turn?: number }).turn}: ${JSON.stringify(request.body).slice(-400)}`);
      console.error(`DIAG interrupt ${kit.type}: sent ${JSON.stringify(sent.body)}; interrupted ${JSON.stringify(interrupted.body)}; requests after:\n${requests.join('\n')}\nevents:\n${seen.join('\n')}`);
      throw error;
    }).finally(release);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(seenAfter(before + 1, 'start over with the apple')).toBe(true);
  });

  it('is held by a pause: nothing reaches the endpoint until it resumes', async () => {
    const { id, release } = await midTurn('work on it');
    turns.push(kit.script.reply('Resumed and done.'));
    expect((await command(id, 'pause')).status).toBe(200);
    expect((await stack.api<RunView>('GET', `/runs/${id}`)).body.status).toBe('paused');
    const whilePaused = endpoint.mainRequests.length;
    release();
    // The held answer is out; a frozen CLI cannot act on it, so no next request comes while paused.
    await new Promise((resolve) => setTimeout(resolve, testTime(1_500)));
    expect(endpoint.mainRequests.length).toBe(whilePaused);
    expect((await command(id, 'resume')).status).toBe(200);
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(endpoint.mainRequests.length).toBeGreaterThan(whilePaused);
  });

  it('answers through the agent’s output schema, and fails an answer that does not match it', async () => {
    const { agent, answer } = kit.structured;
    const before = endpoint.mainRequests.length;
    turns.push(kit.script.reply(JSON.stringify(answer)));
    const good = await run('answer in the format', 'normal', { agent });
    expect(good.status, JSON.stringify(good.error)).toBe('completed');
    expect((good.result as { output: unknown }).output).toEqual(answer);
    expect(kit.schemaSeen(endpoint.mainRequests[before]!)).toBe(true);
    turns.push(kit.script.reply('just prose'));
    const bad = await run('answer in the format', 'normal', { agent });
    expect(bad.status).toBe('failed');
    expect(bad.error?.message).toMatch(/^the final answer is not JSON: just prose/);
  });

  it('reports usage', async () => {
    turns.push(kit.script.reply('Counted.'));
    const result = await run('count');
    const usage = (await events(result.id)).find((event) => event.kind === 'usage_tick');
    expect(usage).toBeDefined();
    if (kit.reportsCost) expect((result.result as { cost_usd: number }).cost_usd).toBeGreaterThan(0);
    else expect((result.result as { usage: unknown }).usage).toBeDefined();
  });
});

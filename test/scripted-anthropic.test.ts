import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../core/paths.js';
import { TestProcess } from './support/process.js';
import {
  apiError,
  blocksOf,
  callTool,
  gate,
  messagesOf,
  reply,
  startScriptedAnthropic,
  type ScriptedAnthropic,
  type Turn,
} from './support/scripted-anthropic.js';
import { testTime } from './support/time.js';

const claudeBin = path.join(repoRoot, 'node_modules', '.bin', 'claude');
const model = 'claude-sonnet-4-5';
/** Every CLI run is bounded: killed, and the test failed, past this. */
const runLimitMs = testTime(60_000);

type Line = Record<string, unknown> & { type: string; subtype?: string; session_id?: string };

interface ClaudeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The stream-json output, one parsed object per line. */
  lines: Line[];
  stderr: string;
}

interface Dirs {
  /** The CLI's working directory. */
  project: string;
  /** A fresh HOME: no user config leaks in, and the CLI keeps its sessions here. */
  home: string;
}

type Workspace = Dirs & { endpoint: ScriptedAnthropic };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDirs(): Promise<Dirs> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-claude-'));
  cleanups.push(() => fs.rm(root, { recursive: true, force: true }));
  const dirs = { project: path.join(root, 'project'), home: path.join(root, 'home') };
  await Promise.all([fs.mkdir(dirs.project), fs.mkdir(dirs.home)]);
  return dirs;
}

async function serve(script: Turn[]): Promise<ScriptedAnthropic> {
  const endpoint = await startScriptedAnthropic(script);
  cleanups.push(() => endpoint.close());
  return endpoint;
}

/** Starts the real CLI; `finished` resolves once it has exited, and rejects if it outlives `runLimitMs`. */
function startClaude(ws: Workspace, prompt: string, args: string[] = []): { process: TestProcess; finished: Promise<ClaudeRun> } {
  const child = spawn(claudeBin, ['-p', prompt, '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--model', model, ...args], {
    cwd: ws.project,
    // Only what the CLI needs: nothing from the outer environment (an ANTHROPIC_* or CLAUDE_* there) leaks in.
    env: {
      PATH: process.env.PATH,
      HOME: ws.home,
      ANTHROPIC_BASE_URL: ws.endpoint.url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new TestProcess('claude', child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  cleanups.push(() => proc.stop('SIGKILL'));
  const finished = (async () => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, runLimitMs);
    const { code, signal } = await proc.exited;
    clearTimeout(timer);
    if (timedOut) throw new Error(`claude did not finish within ${runLimitMs} ms:\n${stdout}\n${stderr}`);
    const lines = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Line);
    return { code, signal, lines, stderr };
  })();
  return { process: proc, finished };
}

const runClaude = (ws: Workspace, prompt: string, args: string[] = []): Promise<ClaudeRun> => startClaude(ws, prompt, args).finished;

const lineOf = (run: ClaudeRun, type: string, subtype?: string): Line => {
  const line = run.lines.find((l) => l.type === type && (subtype === undefined || l.subtype === subtype));
  if (!line) throw new Error(`no ${type}${subtype ? `/${subtype}` : ''} line in:\n${run.lines.map((l) => JSON.stringify(l)).join('\n')}\n${run.stderr}`);
  return line;
};

/** Content blocks of one type from the CLI's `assistant` (tool_use) or `user` (tool_result) output lines. */
function outputBlocks(run: ClaudeRun, type: 'tool_use' | 'tool_result'): Record<string, unknown>[] {
  return run.lines.flatMap((line) => {
    const message = line.message as { content?: unknown } | undefined;
    if (!Array.isArray(message?.content)) return [];
    return (message.content as Record<string, unknown>[]).filter((block) => block.type === type);
  });
}

const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

describe('the real claude CLI against the scripted endpoint', () => {
  it('writes a file with Write and reports the session, usage and cost', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'hello.txt');
    const endpoint = await serve([
      callTool('Write', { file_path: target, content: 'hello from the script\n' }, { usage: { input_tokens: 1000, output_tokens: 50 } }),
      reply('Wrote hello.txt.', { usage: { input_tokens: 1200, output_tokens: 30 } }),
    ]);
    const run = await runClaude({ ...dirs, endpoint }, 'Write hello.txt');

    expect(run.code).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('hello from the script\n');

    const init = lineOf(run, 'system', 'init');
    expect(init).toMatchObject({ model, permissionMode: 'acceptEdits', cwd: dirs.project });
    expect(init.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(init.tools).toEqual(expect.arrayContaining(['Write', 'Edit', 'Read', 'Bash']));

    const [toolUse] = outputBlocks(run, 'tool_use');
    expect(toolUse).toMatchObject({ name: 'Write', input: { file_path: target } });
    const [toolResult] = outputBlocks(run, 'tool_result');
    expect(toolResult).toMatchObject({ tool_use_id: toolUse!.id });
    expect(toolResult!.is_error).toBeFalsy();

    const result = lineOf(run, 'result');
    expect(result).toMatchObject({ subtype: 'success', is_error: false, session_id: init.session_id, num_turns: 2, result: 'Wrote hello.txt.' });
    // Usage is summed over the two scripted turns; the cost is the CLI's own price table (Sonnet 4.5: $3/M in, $15/M out).
    expect(result.usage).toMatchObject({ input_tokens: 2200, output_tokens: 80 });
    expect(result.total_cost_usd).toBeCloseTo(2200 * 3e-6 + 80 * 15e-6, 9);

    // The endpoint saw the conversation: the API key, then the tool result coming back in the second request.
    expect(endpoint.mainRequests).toHaveLength(2);
    const [first, second] = endpoint.mainRequests;
    expect(first).toMatchObject({ method: 'POST', path: '/v1/messages?beta=true', headers: { 'x-api-key': 'test-key' }, body: { model, stream: true } });
    const returned = blocksOf(second!, 'tool_result');
    expect(returned).toEqual([expect.objectContaining({ tool_use_id: toolUse!.id })]);
    expect(returned[0]!.content).toContain('File created successfully');
  });

  it('edits a file with Edit after reading it', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'config.txt');
    await fs.writeFile(target, 'colour = red\nsize = 3\n');
    const endpoint = await serve([
      // The CLI refuses to Edit a file it has not Read in this session ("File has not been read yet").
      callTool('Read', { file_path: target }),
      callTool('Edit', { file_path: target, old_string: 'colour = red', new_string: 'colour = blue' }),
      reply('Changed the colour.'),
    ]);
    const run = await runClaude({ ...dirs, endpoint }, 'Make it blue');

    expect(run.code).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('colour = blue\nsize = 3\n');
    expect(outputBlocks(run, 'tool_use').map((b) => b.name)).toEqual(['Read', 'Edit']);
    const results = outputBlocks(run, 'tool_result');
    expect(results.map((r) => r.is_error ?? false)).toEqual([false, false]);
    expect(blocksOf(endpoint.mainRequests[1]!, 'tool_result')[0]?.content).toContain('colour = red');
    expect(lineOf(run, 'result')).toMatchObject({ is_error: false, num_turns: 3 });
  });

  it('runs a Bash command that --allowedTools allows', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([callTool('Bash', { command: 'echo hi > out.txt && echo wrote-$((40 + 2))', description: 'Write out.txt' }), reply('Ran it.')]);
    const run = await runClaude({ ...dirs, endpoint }, 'Run the command', ['--allowedTools', 'Bash']);

    expect(run.code).toBe(0);
    expect(await fs.readFile(path.join(dirs.project, 'out.txt'), 'utf8')).toBe('hi\n');
    const [toolResult] = outputBlocks(run, 'tool_result');
    expect(toolResult).toMatchObject({ is_error: false, content: 'wrote-42' });
    expect(lineOf(run, 'result')).toMatchObject({ is_error: false, permission_denials: [] });
  });

  it('refuses a Bash command a deny rule matches, without running it', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([callTool('Bash', { command: 'echo hi > out.txt', description: 'Write out.txt' }), reply('It was refused.')]);
    const run = await runClaude({ ...dirs, endpoint }, 'Run the command', ['--disallowedTools', 'Bash(echo:*)']);

    expect(run.code).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    const [toolUse] = outputBlocks(run, 'tool_use');
    expect(lineOf(run, 'system', 'permission_denied')).toMatchObject({ tool_name: 'Bash', tool_use_id: toolUse!.id });
    const denial = 'Permission to use Bash with command echo hi > out.txt has been denied.';
    expect(outputBlocks(run, 'tool_result')).toEqual([expect.objectContaining({ tool_use_id: toolUse!.id, is_error: true, content: denial })]);
    // What goes back to the model is the same refusal (the CLI appends a system-reminder to it).
    const [returned] = blocksOf(endpoint.mainRequests[1]!, 'tool_result');
    expect(returned).toMatchObject({ tool_use_id: toolUse!.id, is_error: true });
    expect(returned!.content).toContain(denial);
    expect(lineOf(run, 'result')).toMatchObject({
      is_error: false,
      permission_denials: [{ tool_name: 'Bash', tool_use_id: toolUse!.id, tool_input: { command: 'echo hi > out.txt' } }],
    });
  });

  it('withholds Bash entirely under --disallowedTools Bash, so a call to it fails as an unknown tool', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([callTool('Bash', { command: 'echo hi > out.txt' }), reply('No Bash here.')]);
    const run = await runClaude({ ...dirs, endpoint }, 'Run the command', ['--disallowedTools', 'Bash']);

    expect(run.code).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    expect(lineOf(run, 'system', 'init').tools).not.toContain('Bash');
    const requestTools = (endpoint.mainRequests[0]!.body as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(requestTools).toContain('Write');
    expect(requestTools).not.toContain('Bash');
    const [toolResult] = outputBlocks(run, 'tool_result');
    expect(toolResult).toMatchObject({ is_error: true });
    expect(toolResult!.content).toContain('No such tool available: Bash');
  });

  it('sends the earlier conversation when a session is resumed', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'notes.txt');
    const endpoint = await serve([callTool('Write', { file_path: target, content: 'first\n' }), reply('First run done.'), reply('Second run done.')]);
    const first = await runClaude({ ...dirs, endpoint }, 'Start the notes');
    expect(first.code).toBe(0);
    const sessionId = lineOf(first, 'result').session_id!;

    const second = await runClaude({ ...dirs, endpoint }, 'Carry on with the notes', ['--resume', sessionId]);
    expect(second.code).toBe(0);
    expect(lineOf(second, 'result')).toMatchObject({ is_error: false, result: 'Second run done.', session_id: sessionId });

    expect(endpoint.mainRequests).toHaveLength(3);
    const resumed = endpoint.mainRequests[2]!;
    expect(messagesOf(resumed).map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    const texts = blocksOf(resumed, 'text').map((b) => b.text);
    expect(texts).toEqual(expect.arrayContaining(['Start the notes', 'First run done.', 'Carry on with the notes']));
    expect(blocksOf(resumed, 'tool_use')).toEqual([expect.objectContaining({ name: 'Write', input: { file_path: target, content: 'first\n' } })]);
    expect(blocksOf(resumed, 'tool_result')).toHaveLength(1);
  });

  it('ends with an error result naming the cause when the API fails', async () => {
    const dirs = await tempDirs();
    // x-should-retry: false makes the CLI give up at once instead of backing off through ten retries.
    const endpoint = await serve([apiError(529, 'overloaded_error', 'Overloaded', { shouldRetry: false })]);
    const run = await runClaude({ ...dirs, endpoint }, 'Do something');

    expect(run.code).toBe(1);
    expect(endpoint.mainRequests).toHaveLength(1);
    const result = lineOf(run, 'result');
    expect(result).toMatchObject({ is_error: true, api_error_status: 529, api_error_type: 'overloaded_error', terminal_reason: 'api_error' });
    expect(result.result).toMatch(/^API Error: 529 Overloaded/);
  });

  it('retries an overloaded API and then carries on', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([apiError(529, 'overloaded_error', 'Overloaded'), reply('Made it.')]);
    const run = await runClaude({ ...dirs, endpoint }, 'Do something');

    expect(run.code).toBe(0);
    expect(lineOf(run, 'system', 'api_retry')).toMatchObject({ attempt: 1, error_status: 529, error: 'overloaded' });
    expect(lineOf(run, 'result')).toMatchObject({ is_error: false, result: 'Made it.' });
    expect(endpoint.mainRequests).toHaveLength(2);
  });

  it('can be stopped while a turn is held open', async () => {
    const held = gate();
    const dirs = await tempDirs();
    const endpoint = await serve([reply('Too late.', { until: held.promise })]);
    cleanups.push(() => Promise.resolve(held.release()));
    const { process: claude, finished } = startClaude({ ...dirs, endpoint }, 'Take your time');
    const asked = await Promise.race([endpoint.waitForMainRequest(1).then(() => true), finished.then(() => false)]);
    expect(asked, 'claude exited before asking for its first turn').toBe(true);
    expect(claude.running).toBe(true);
    await claude.stop('SIGTERM');
    const run = await finished;
    // It dies by its own SIGTERM handler (128 + 15), mid-turn: an init line, and no result.
    expect(run.code).toBe(143);
    expect(run.lines.map((l) => l.type)).toEqual(['system']);
    expect(endpoint.mainRequests).toHaveLength(1);
  });
});

describe('the scripted endpoint', () => {
  const post = (url: string, body: object): Promise<Response> =>
    fetch(`${url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const main = { model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'Write' }, { name: 'Bash' }] };

  it('answers side requests harmlessly without consuming the script, then runs out with a 400', async () => {
    const endpoint = await serve([reply('The scripted answer.')]);
    expect((await fetch(`${endpoint.url}/api/hello`, { method: 'HEAD' })).status).toBe(200);
    const counted = await fetch(`${endpoint.url}/v1/messages/count_tokens?beta=true`, { method: 'POST', body: JSON.stringify(main) });
    expect(await counted.json()).toEqual({ input_tokens: 100 });
    const title = await post(endpoint.url, { model, max_tokens: 50, messages: [{ role: 'user', content: 'Name this session' }] });
    expect(await title.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'OK' }], stop_reason: 'end_turn' });

    const answer = await post(endpoint.url, main);
    expect(await answer.json()).toMatchObject({ role: 'assistant', content: [{ type: 'text', text: 'The scripted answer.' }], stop_reason: 'end_turn' });
    const exhausted = await post(endpoint.url, main);
    expect(exhausted.status).toBe(400);
    expect(await exhausted.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    expect(endpoint.requests.map((r) => `${r.kind} ${r.method} ${r.path.split('?')[0]}`)).toEqual([
      'side HEAD /api/hello',
      'side POST /v1/messages/count_tokens',
      'side POST /v1/messages',
      'main POST /v1/messages',
      'main POST /v1/messages',
    ]);
  });

  it('streams text and tool calls as Messages API server-sent events', async () => {
    const endpoint = await serve([{ text: 'Writing it.', tools: [{ tool: 'Write', input: { file_path: 'a.txt', content: 'x' }, id: 'toolu_1' }], usage: { output_tokens: 7 } }]);
    const response = await post(endpoint.url, { ...main, stream: true });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = (await response.text())
      .split('\n\n')
      .filter((chunk) => chunk !== '')
      .map((chunk) => ({ event: /^event: (.+)$/m.exec(chunk)?.[1], data: JSON.parse(/^data: (.+)$/m.exec(chunk)![1]!) as Record<string, unknown> }));
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of events) expect(e.data.type).toBe(e.event);
    expect(events[4]!.data).toMatchObject({ index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Write', input: {} } });
    const delta = events[5]!.data.delta as { type: string; partial_json: string };
    expect(delta.type).toBe('input_json_delta');
    expect(JSON.parse(delta.partial_json)).toEqual({ file_path: 'a.txt', content: 'x' });
    expect(events[7]!.data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } });
  });
});

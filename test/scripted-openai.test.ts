import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import { cliHarness, dump, exists, lineOf, type CliRun, type StartedCli } from './support/cli-run.js';
import { postJson, readEvents } from './support/scripted-endpoint.js';
import {
  apiError,
  applyPatch,
  gate,
  inputOf,
  messageTexts,
  reply,
  runCommand,
  startScriptedOpenAI,
  toolNames,
  type ScriptedOpenAI,
  type Turn,
} from './support/scripted-openai.js';

const codexBin = path.join(repoRoot, 'node_modules', '.bin', 'codex');
// A model in codex's bundled catalogue: an unknown one gets an "Model metadata ... not found" error item on every
// run, and no `apply_patch` tool.
const model = 'gpt-5.5';

interface Item {
  id: string;
  type: string;
  [key: string]: unknown;
}

type Line = Record<string, unknown> & { type: string; thread_id?: string; item?: Item; usage?: Record<string, number>; error?: { message: string } };
type CodexRun = CliRun<Line>;

interface Dirs {
  /** The CLI's working directory. */
  project: string;
  /** A fresh HOME: the login shell behind `exec_command` reads no user profile from the outer one. */
  home: string;
  /** A fresh CODEX_HOME, where codex keeps its sessions; outside /tmp, where it refuses to set up its helpers. */
  codexHome: string;
}

type Workspace = Dirs & { endpoint: ScriptedOpenAI };

interface RunOptions {
  sandbox?: 'read-only' | 'workspace-write' | 'danger-full-access';
  /** The provider's `request_max_retries` and `stream_max_retries`; codex's defaults (4 and 5) when unset. */
  retries?: number;
}

const harness = cliHarness();

async function tempDirs(): Promise<Dirs> {
  const { root: project } = await harness.tempDirs('ao-codex-project-', []);
  const cache = path.join(os.homedir(), '.cache');
  await fs.mkdir(cache, { recursive: true });
  const { home, 'codex-home': codexHome } = await harness.tempDirs('ao-codex-', ['home', 'codex-home'], cache);
  return { project, home, codexHome };
}

const serve = async (script: Turn[]): Promise<ScriptedOpenAI> => harness.closeAfter(await startScriptedOpenAI(script));

/** Codex 0.169 ignores OPENAI_BASE_URL: the endpoint is declared as a provider of its own. */
function providerConfig(url: string, retries?: number): string {
  const retryLimits = retries === undefined ? '' : `, request_max_retries=${retries}, stream_max_retries=${retries}`;
  return `model_providers.local={name="local", base_url="${url}/v1", wire_api="responses", env_key="OPENAI_API_KEY"${retryLimits}}`;
}

/** Starts the real CLI with `codex exec <options> ...tail` (tail: a prompt, or `resume <id> <prompt>`). */
function startCodex(ws: Workspace, tail: string[], options: RunOptions = {}): StartedCli<Line> {
  const args = ['exec', '--json', '--skip-git-repo-check', '-s', options.sandbox ?? 'workspace-write', '-m', model];
  args.push('-c', 'model_provider=local', '-c', providerConfig(ws.endpoint.url, options.retries), ...tail);
  return harness.start({
    name: 'codex',
    command: codexBin,
    args,
    cwd: ws.project,
    env: { HOME: ws.home, CODEX_HOME: ws.codexHome, OPENAI_API_KEY: 'test-key' },
    // The npm launcher is a node process that spawns the native binary; a SIGKILL to it alone would leave that running.
    ownGroup: true,
  });
}

const runCodex = (ws: Workspace, tail: string[], options: RunOptions = {}): Promise<CodexRun> => startCodex(ws, tail, options).finished;

/** The items of one type from the run's `item.completed` lines (or `item.started`). */
const itemsOf = (run: CodexRun, type: string, event: 'item.completed' | 'item.started' = 'item.completed'): Item[] =>
  run.lines.flatMap((l) => (l.type === event && l.item?.type === type ? [l.item] : []));

describe('the real codex CLI against the scripted endpoint', () => {
  it('runs a shell command with exec_command and reports it as a command_execution item', async () => {
    const dirs = await tempDirs();
    const command = 'echo hi > out.txt && echo wrote-$((40 + 2))';
    const endpoint = await serve([runCommand(command, { workdir: dirs.project }), reply('Ran it.')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Run the command']);

    expect(run.code, dump(run)).toBe(0);
    expect(await fs.readFile(path.join(dirs.project, 'out.txt'), 'utf8')).toBe('hi\n');
    expect(run.lines.map((l) => l.type)).toEqual(['thread.started', 'turn.started', 'item.started', 'item.completed', 'item.completed', 'turn.completed']);
    const threadId = lineOf(run, 'thread.started').thread_id;
    expect(threadId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    // The command runs through the user's login shell (`/bin/bash -lc '<cmd>'` here).
    const [started] = itemsOf(run, 'command_execution', 'item.started');
    expect(started).toMatchObject({ status: 'in_progress', exit_code: null, aggregated_output: '' });
    expect(started!.command).toContain(command);
    const [executed] = itemsOf(run, 'command_execution');
    expect(executed).toMatchObject({ id: started!.id, command: started!.command, status: 'completed', exit_code: 0, aggregated_output: 'wrote-42\n' });
    expect(itemsOf(run, 'agent_message')).toEqual([expect.objectContaining({ text: 'Ran it.' })]);

    // The endpoint saw the conversation: the key and thread, then the command's output coming back.
    expect(endpoint.mainRequests).toHaveLength(2);
    const [first, second] = endpoint.mainRequests;
    expect(first).toMatchObject({
      method: 'POST',
      path: '/v1/responses',
      headers: { authorization: 'Bearer test-key', 'thread-id': threadId, originator: 'codex_exec' },
      body: { model, stream: true, store: false },
    });
    expect(toolNames(first!)).toEqual(expect.arrayContaining(['exec_command', 'write_stdin', 'apply_patch']));
    expect(messageTexts(first!, 'user')).toContain('Run the command');
    const [call] = inputOf(second!, 'function_call');
    expect(call).toMatchObject({ name: 'exec_command', arguments: JSON.stringify({ cmd: command, workdir: dirs.project }) });
    const [output] = inputOf(second!, 'function_call_output');
    expect(output).toMatchObject({ call_id: call!.call_id });
    expect(output!.output).toContain('Process exited with code 0');
    expect(output!.output).toContain('wrote-42');
  });

  it('edits and adds files with apply_patch and reports a file_change item', async () => {
    const dirs = await tempDirs();
    const config = path.join(dirs.project, 'config.txt');
    await fs.writeFile(config, 'colour = red\nsize = 3\n');
    const patch = [
      '*** Begin Patch',
      '*** Update File: config.txt',
      '@@',
      '-colour = red',
      '+colour = blue',
      ' size = 3',
      '*** Add File: notes/todo.txt',
      '+paint it blue',
      '*** End Patch',
      '',
    ].join('\n');
    const endpoint = await serve([applyPatch(patch), reply('Patched.')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Make it blue']);

    expect(run.code, dump(run)).toBe(0);
    expect(await fs.readFile(config, 'utf8')).toBe('colour = blue\nsize = 3\n');
    expect(await fs.readFile(path.join(dirs.project, 'notes', 'todo.txt'), 'utf8')).toBe('paint it blue\n');

    // apply_patch is a freeform ("custom") tool with a Lark grammar, not a JSON function.
    const declared = (endpoint.mainRequests[0]!.body as { tools: { name?: string; type: string }[] }).tools.find((t) => t.name === 'apply_patch');
    expect(declared).toMatchObject({ type: 'custom', format: { type: 'grammar', syntax: 'lark' } });

    const [change] = itemsOf(run, 'file_change');
    expect(change).toMatchObject({ status: 'completed' });
    expect(change!.changes).toEqual(
      expect.arrayContaining([
        { path: config, kind: 'update' },
        { path: path.join(dirs.project, 'notes', 'todo.txt'), kind: 'add' },
      ]),
    );
    expect(itemsOf(run, 'command_execution')).toEqual([]);

    const second = endpoint.mainRequests[1]!;
    const [call] = inputOf(second, 'custom_tool_call');
    expect(call).toMatchObject({ name: 'apply_patch', input: patch });
    const [output] = inputOf(second, 'custom_tool_call_output');
    expect(output).toMatchObject({ call_id: call!.call_id });
    expect(output!.output).toContain('Success. Updated the following files:\nA notes/todo.txt\nM config.txt');
  });

  it('runs a write under -s read-only inside the sandbox, where it fails, and the --json output never shows it succeeding', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([runCommand('echo hi > out.txt', { workdir: dirs.project }), reply('It was refused.')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Run the command'], { sandbox: 'read-only' });

    // The turn itself succeeds: the refusal is only the tool's output, which goes back to the model.
    expect(run.code, dump(run)).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    const output = inputOf(endpoint.mainRequests[1]!, 'function_call_output')[0]?.output;
    expect(output).toContain('Process exited with code 1');
    expect(output).toContain('out.txt: Read-only file system');
    // On an idle machine the refused command does not appear in the --json output at all; under load codex
    // may report it as a command_execution item. Either way it never shows as a success.
    const types = run.lines.map((l) => l.type);
    expect(types.slice(0, 2)).toEqual(['thread.started', 'turn.started']);
    expect(types.at(-1)).toBe('turn.completed');
    for (const item of itemsOf(run, 'command_execution')) expect(item, dump(run)).not.toMatchObject({ exit_code: 0 });
    expect(itemsOf(run, 'agent_message')).toEqual([expect.objectContaining({ text: 'It was refused.' })]);
  });

  it('rejects an apply_patch under -s read-only without asking, since exec never asks for approval', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([applyPatch('*** Begin Patch\n*** Add File: out.txt\n+hi\n*** End Patch\n'), reply('It was refused.')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Write the file'], { sandbox: 'read-only' });

    expect(run.code, dump(run)).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    const rejection = 'patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings';
    expect(inputOf(endpoint.mainRequests[1]!, 'custom_tool_call_output')).toEqual([expect.objectContaining({ output: rejection })]);
    expect(itemsOf(run, 'file_change')).toEqual([]);
    expect(run.stderr).toContain(rejection);
  });

  it('rejects a command that asks for escalated permissions, since the approval policy is never', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([
      { tools: [{ tool: 'exec_command', input: { cmd: 'echo hi > out.txt', sandbox_permissions: 'require_escalated', justification: 'Write out.txt' } }] },
      reply('It was refused.'),
    ]);
    const run = await runCodex({ ...dirs, endpoint }, ['Run the command']);

    expect(run.code, dump(run)).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    const rejection = 'approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never';
    expect(inputOf(endpoint.mainRequests[1]!, 'function_call_output')).toEqual([expect.objectContaining({ output: rejection })]);
    expect(itemsOf(run, 'command_execution')).toEqual([]);
  });

  it('sends the earlier conversation when a thread is resumed with exec resume', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([
      runCommand('echo first > notes.txt', { workdir: dirs.project }),
      reply('First run done.'),
      reply('Second run done.', { usage: { input_tokens: 1000, output_tokens: 7 } }),
    ]);
    const first = await runCodex({ ...dirs, endpoint }, ['Start the notes']);
    expect(first.code, dump(first)).toBe(0);
    const threadId = lineOf(first, 'thread.started').thread_id!;

    const second = await runCodex({ ...dirs, endpoint }, ['resume', threadId, 'Carry on with the notes']);
    expect(second.code, dump(second)).toBe(0);
    expect(lineOf(second, 'thread.started')).toEqual({ type: 'thread.started', thread_id: threadId });
    expect(itemsOf(second, 'agent_message')).toEqual([expect.objectContaining({ text: 'Second run done.' })]);
    // Surprise: after a resume, turn.completed reports the thread's running total (2 × 100 + 1000 in), not the turn's.
    expect(lineOf(second, 'turn.completed').usage).toMatchObject({ input_tokens: 1200, output_tokens: 47 });

    expect(endpoint.mainRequests).toHaveLength(3);
    const resumed = endpoint.mainRequests[2]!;
    expect(resumed.headers['thread-id']).toBe(threadId);
    const conversation = inputOf(resumed).filter((i) => i.role !== 'developer');
    expect(conversation.map((i) => `${i.type}${typeof i.role === 'string' ? `/${i.role}` : ''}`)).toEqual([
      'message/user', // the environment context
      'message/user',
      'function_call',
      'function_call_output',
      'message/assistant',
      'message/user',
    ]);
    expect(messageTexts(resumed, 'user')).toEqual(expect.arrayContaining(['Start the notes', 'Carry on with the notes']));
    expect(messageTexts(resumed, 'assistant')).toEqual(['First run done.']);
    expect(inputOf(resumed, 'function_call')).toEqual([expect.objectContaining({ name: 'exec_command' })]);
  });

  it('fails the turn with the cause when the stream reports response.failed', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([apiError(500, 'server_error', 'The scripted model fell over', { inStream: true })]);
    const run = await runCodex({ ...dirs, endpoint }, ['Do something'], { retries: 0 });

    expect(run.code, dump(run)).toBe(1);
    const cause = 'stream disconnected before completion: The scripted model fell over';
    expect(run.lines.map((l) => l.type)).toEqual(['thread.started', 'turn.started', 'error', 'turn.failed']);
    expect(lineOf(run, 'error')).toEqual({ type: 'error', message: cause });
    expect(lineOf(run, 'turn.failed')).toEqual({ type: 'turn.failed', error: { message: cause } });
    expect(endpoint.mainRequests).toHaveLength(1);
  });

  it('fails the turn on an HTTP 500, in words of its own rather than the server message', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([apiError(500, 'server_error', 'The scripted model fell over')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Do something'], { retries: 0 });

    expect(run.code, dump(run)).toBe(1);
    const cause = 'We’re currently experiencing high demand, which may cause temporary errors.';
    expect(lineOf(run, 'error')).toEqual({ type: 'error', message: cause });
    expect(lineOf(run, 'turn.failed')).toEqual({ type: 'turn.failed', error: { message: cause } });
    expect(endpoint.mainRequests).toHaveLength(1);
  });

  it('passes an HTTP 400 body through as the cause, without retrying', async () => {
    const dirs = await tempDirs();
    // Codex's default retry limits: a 400 is still tried once only.
    const endpoint = await serve([apiError(400, 'invalid_request_error', 'The scripted request was bad')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Do something']);

    expect(run.code, dump(run)).toBe(1);
    const cause = lineOf(run, 'turn.failed').error!.message;
    expect(JSON.parse(cause)).toEqual({ error: { message: 'The scripted request was bad', type: 'invalid_request_error', param: null, code: 'invalid_request_error' } });
    expect(endpoint.mainRequests).toHaveLength(1);
  });

  it('reconnects after a failed stream, saying so in an error line, and then carries on', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([apiError(500, 'server_error', 'Blip', { inStream: true }), reply('Made it.')]);
    const run = await runCodex({ ...dirs, endpoint }, ['Do something'], { retries: 1 });

    expect(run.code, dump(run)).toBe(0);
    expect(lineOf(run, 'error').message).toMatch(/^Reconnecting\.\.\. 1\/1/);
    expect(itemsOf(run, 'agent_message')).toEqual([expect.objectContaining({ text: 'Made it.' })]);
    expect(lineOf(run, 'turn.completed')).toBeDefined();
    expect(endpoint.mainRequests).toHaveLength(2);
  });

  it('reports the summed usage of the turn in turn.completed', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([
      runCommand('true', { usage: { input_tokens: 1000, cached_tokens: 200, cache_write_tokens: 30, output_tokens: 50, reasoning_tokens: 10 } }),
      reply('Done.', { usage: { input_tokens: 1200, cached_tokens: 1000, cache_write_tokens: 0, output_tokens: 30, reasoning_tokens: 4 } }),
    ]);
    const run = await runCodex({ ...dirs, endpoint }, ['Do something']);

    expect(run.code, dump(run)).toBe(0);
    expect(lineOf(run, 'turn.completed')).toEqual({
      type: 'turn.completed',
      usage: { input_tokens: 2200, cached_input_tokens: 1200, cache_write_input_tokens: 30, output_tokens: 80, reasoning_output_tokens: 14 },
    });
  });

  it('can be stopped while a turn is held open', async () => {
    const held = gate();
    const dirs = await tempDirs();
    const endpoint = await serve([reply('Too late.', { until: held.promise })]);
    harness.defer(() => held.release());
    const { process: codex, finished } = startCodex({ ...dirs, endpoint }, ['Take your time']);
    const asked = await Promise.race([endpoint.waitForMainRequest(1).then(() => true), finished.then(() => false)]);
    expect(asked, 'codex exited before asking for its first turn').toBe(true);
    expect(codex.running).toBe(true);
    // The launcher forwards SIGTERM to the native binary.
    await codex.stop('SIGTERM');
    const run = await finished;
    expect({ code: run.code, signal: run.signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expect(run.lines.map((l) => l.type)).toEqual(['thread.started', 'turn.started']);
    expect(endpoint.mainRequests).toHaveLength(1);
  });
});

describe('the scripted endpoint', () => {
  const post = (url: string, body: object): Promise<Response> => postJson(`${url}/v1/responses`, body);
  const main = { model, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], tools: [{ type: 'function', name: 'exec_command' }] };

  it('answers side requests harmlessly without consuming the script, then runs out with a 400', async () => {
    const endpoint = await serve([reply('The scripted answer.')]);
    expect(await (await fetch(`${endpoint.url}/v1/models`)).json()).toEqual({ object: 'list', data: [], models: [] });
    const side = await post(endpoint.url, { model, input: [] });
    expect(await side.json()).toMatchObject({ object: 'response', status: 'completed', output: [{ type: 'message', content: [{ text: 'OK' }] }] });

    const answer = await post(endpoint.url, main);
    expect(await answer.json()).toMatchObject({
      status: 'completed',
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The scripted answer.' }] }],
      usage: { input_tokens: 100, output_tokens: 20 },
    });
    const exhausted = await post(endpoint.url, main);
    expect(exhausted.status).toBe(400);
    expect(await exhausted.json()).toMatchObject({ error: { type: 'invalid_request_error', message: 'scripted-openai: script exhausted (1 turns)' } });

    expect(endpoint.requests.map((r) => `${r.kind} ${r.method} ${r.path}`)).toEqual([
      'side GET /v1/models',
      'side POST /v1/responses',
      'main POST /v1/responses',
      'main POST /v1/responses',
    ]);
  });

  it('streams text and tool calls as Responses API server-sent events', async () => {
    const endpoint = await serve([
      {
        text: 'Working on it.',
        tools: [
          { tool: 'exec_command', input: { cmd: 'ls' }, id: 'call_1' },
          { tool: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n', id: 'call_2' },
        ],
        usage: { output_tokens: 7, cached_tokens: 3 },
      },
    ]);
    const response = await post(endpoint.url, { ...main, stream: true });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = await readEvents(response);
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.output_item.added',
      'response.output_text.delta',
      'response.output_item.done',
      'response.output_item.added',
      'response.output_item.done',
      'response.output_item.added',
      'response.output_item.done',
      'response.completed',
    ]);
    for (const e of events) expect(e.data.type).toBe(e.event);
    expect(events[2]!.data).toMatchObject({ output_index: 0, delta: 'Working on it.' });
    expect(events[5]!.data).toMatchObject({ output_index: 1, item: { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' } });
    expect(events[7]!.data).toMatchObject({ output_index: 2, item: { type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n' } });
    expect(events[8]!.data).toMatchObject({
      response: { status: 'completed', usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 3 }, output_tokens: 7, total_tokens: 107 } },
    });
  });

  it('fails a stream with response.failed for an in-stream error', async () => {
    const endpoint = await serve([apiError(500, 'server_error', 'Boom', { inStream: true, code: 'server_is_overloaded' })]);
    const response = await post(endpoint.url, { ...main, stream: true });
    expect(response.status).toBe(200);
    const events = await readEvents(response);
    expect(events.map((e) => e.event)).toEqual(['response.created', 'response.failed']);
    expect(events[1]!.data).toMatchObject({ response: { status: 'failed', error: { code: 'server_is_overloaded', message: 'Boom' } } });
  });
});

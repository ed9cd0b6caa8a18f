import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import { repoRoot } from '../core/config/paths.js';
import type { RunView } from '../core/contract/http.js';
import { callTool, reply, startScriptedAnthropic, type ScriptedAnthropic, type Turn } from './support/scripted-anthropic.js';
import { TestStack, eventually } from './support/stack.js';

const claude = path.join(repoRoot, 'node_modules', '.bin', 'claude');
let stack: TestStack;
let profilesDir: string;
const endpoints: ScriptedAnthropic[] = [];

beforeAll(async () => {
  stack = await TestStack.create();
  profilesDir = await fs.mkdtemp(path.join(stack.root, 'profiles-'));
  // The vendor settings the executor needs reach it through the profile, as in the shipped ones.
  const CLAUDE_ENV = ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'];
  const profile = (config: Record<string, unknown>) => JSON.stringify({ type: 'claude-code', command: [claude], config: { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', env_passthrough: CLAUDE_ENV, ...config } });
  await fs.writeFile(path.join(profilesDir, 'claude-test.json'), profile({ allowed_tools: ['Read', 'Edit', 'Write', 'Bash(echo:*)'] }));
  await fs.writeFile(path.join(profilesDir, 'claude-missing.json'), JSON.stringify({ type: 'claude-code', command: ['/nonexistent/claude'], config: {} }));
});
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
});
afterAll(async () => {
  await stack?.stop();
});

/** A runner on a claude profile whose model endpoint plays `script`; its project is a plain folder. */
async function claudeRunner(script: Turn[], profile = 'claude-test') {
  const endpoint = await startScriptedAnthropic(script);
  endpoints.push(endpoint);
  const home = await fs.mkdtemp(path.join(stack.root, 'home-'));
  const tag = `claude-${crypto.randomBytes(3).toString('hex')}`;
  const runner = await stack.startRunner({
    profile,
    tags: [tag],
    extraArgs: ['--profiles-dir', profilesDir],
    env: { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home },
  });
  return { endpoint, tag, projectDir: runner.projectDir, runnerId: runner.runnerId };
}

async function runEvents(id: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
}

const coder = (tag: string, prompt: string, extra: Record<string, unknown> = {}) => ({ agent: 'coder', prompt, additional_demands: { tags: [tag] }, ...extra });

// Write, edit, shell, refusal, resume, API errors, stop and usage are in the executor contract suite;
// these are the claude-specific details.
describe('the claude-code executor on the real CLI', () => {
  it('writes a file, and reports the session, tool calls, files touched and the CLI’s usage and cost', async () => {
    const placeholder = '__PROJECT__';
    const script: Turn[] = [callTool('Write', { file_path: `${placeholder}/hello.txt`, content: 'hello from claude\n' }), reply('I wrote hello.txt.')];
    const setup = await claudeRunner(script);
    // The project folder is known only now: point the scripted Write at it.
    (script[0] as { tools: Array<{ input: Record<string, unknown> }> }).tools[0]!.input.file_path = path.join(setup.projectDir, 'hello.txt');

    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: coder(setup.tag, 'write hello.txt') });
    expect(run.status).toBe('completed');
    expect(await fs.readFile(path.join(setup.projectDir, 'hello.txt'), 'utf8')).toBe('hello from claude\n');
    expect(run.result).toMatchObject({ text: 'I wrote hello.txt.', num_turns: 2 });
    const cost = (run.result as { cost_usd: number }).cost_usd;
    expect(cost).toBeGreaterThan(0);
    expect(run.executor_session_id).toMatch(/^[0-9a-f-]{36}$/);
    // The runs list shows the cost too (a search attribute, so visibility may lag a moment).
    await eventually(async () => {
      const { body } = await stack.api<{ runs: Array<{ id: string; cost_usd?: number }> }>('GET', `/runs?agent=coder&limit=500`);
      expect(body.runs.find((listed) => listed.id === run.id)?.cost_usd).toBe(cost);
    });

    const events = await runEvents(run.id);
    const kinds = events.map((event) => event.kind);
    expect(kinds).toEqual(expect.arrayContaining(['session_started', 'tool_call', 'file_touched', 'tool_result', 'message', 'usage_tick', 'session_ended']));
    expect(events.find((event) => event.kind === 'session_started' && event.data.session_id)?.data).toMatchObject({ session_id: run.executor_session_id, model: 'claude-sonnet-4-5' });
    expect(events.find((event) => event.kind === 'tool_call')?.data).toMatchObject({ name: 'Write' });
    // Once the tool succeeded, relative to the workspace (here the project folder).
    expect(events.filter((event) => event.kind === 'file_touched').map((event) => event.data)).toEqual([{ path: 'hello.txt', tool: 'Write', operation: 'write' }]);
    expect(events.find((event) => event.kind === 'usage_tick' && event.data.final === true)?.data).toMatchObject({ scope: 'run', usage: { turns: 2 }, cost_usd: cost });
  });

  it('edits a file it has read, and runs an allowed shell command', async () => {
    const script: Turn[] = [];
    const setup = await claudeRunner(script, 'claude-test');
    const file = path.join(setup.projectDir, 'notes.md');
    await fs.writeFile(file, 'status: draft\n');
    script.push(
      callTool('Read', { file_path: file }),
      callTool('Edit', { file_path: file, old_string: 'draft', new_string: 'final' }),
      callTool('Bash', { command: 'echo built > build.log' }),
      reply('Edited and built.'),
    );
    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: coder(setup.tag, 'finish the notes and build') });
    expect(run.status).toBe('completed');
    expect(await fs.readFile(file, 'utf8')).toBe('status: final\n');
    expect(await fs.readFile(path.join(setup.projectDir, 'build.log'), 'utf8')).toBe('built\n');
    const events = await runEvents(run.id);
    expect(events.filter((event) => event.kind === 'tool_call').map((event) => event.data.name)).toEqual(['Read', 'Edit', 'Bash']);
    expect(events.filter((event) => event.kind === 'file_touched').map((event) => event.data)).toEqual([{ path: 'notes.md', tool: 'Edit', operation: 'edit' }]);
    expect(events.filter((event) => event.kind === 'tool_result').every((event) => event.data.is_error === false)).toBe(true);
  });

  it('reports no file for a failed edit, and says in its result that a tool failed', async () => {
    const script: Turn[] = [];
    const setup = await claudeRunner(script, 'claude-test');
    const file = path.join(setup.projectDir, 'kept.md');
    await fs.writeFile(file, 'status: draft\n');
    script.push(
      callTool('Read', { file_path: file }),
      callTool('Edit', { file_path: file, old_string: 'no such text', new_string: 'final' }),
      reply('The edit did not apply.'),
    );
    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: coder(setup.tag, 'try an edit') });
    expect(run.status).toBe('completed');
    expect(await fs.readFile(file, 'utf8')).toBe('status: draft\n');
    const { tool_errors: toolErrors } = run.result as { tool_errors: { count: number; last: string } };
    expect(toolErrors.count).toBe(1);
    expect(toolErrors.last).toMatch(/not found|String to replace/i);
    const events = await runEvents(run.id);
    expect(events.filter((event) => event.kind === 'tool_result').map((event) => event.data.is_error)).toEqual([false, true]);
    expect(events.some((event) => event.kind === 'file_touched')).toBe(false);
  });

  it('turns the final answer into result_data when the agent has an output schema, and fails a non-conforming one', async () => {
    const setup = await claudeRunner([reply('```json\n{"summary": "a small app", "files": ["README.md"]}\n```'), reply('just prose')]);
    const summarizer = { agent: 'summarizer', prompt: 'summarise', additional_demands: { tags: [setup.tag] } };
    const { body: good } = await stack.api<RunView>('POST', '/runs?wait=true', { body: summarizer });
    expect(good.status).toBe('completed');
    expect((good.result as { output: unknown }).output).toEqual({ summary: 'a small app', files: ['README.md'] });
    expect(JSON.stringify(setup.endpoint.mainRequests[0]!.body)).toContain('matching this JSON Schema');
    const { body: bad } = await stack.api<RunView>('POST', '/runs?wait=true', { body: summarizer });
    expect(bad.status).toBe('failed');
    expect(bad.error?.message).toMatch(/^the final answer is not JSON: just prose/);
  });

  it('refuses to start a runner whose claude CLI is missing, saying how to fix it', async () => {
    const runner = stack.spawnRunner(['--profile', 'claude-missing', '--profiles-dir', profilesDir, '--project-dir', stack.root]);
    const { code } = await runner.exited;
    expect(code).toBe(1);
    expect(runner.output).toContain('the claude CLI (/nonexistent/claude) cannot run');
    expect(runner.output).toContain('Install @anthropic-ai/claude-code');
  });
});

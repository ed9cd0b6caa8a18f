import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { groupIsAlive } from '../activities/executors/process.js';
import type { RunEvent } from '../core/events.js';
import { repoRoot } from '../core/paths.js';
import type { RunView } from '../core/schemas.js';
import { apiError, callTool, contentsOf, gate, reply, startScriptedGemini, type ScriptedGemini, type Turn } from './support/scripted-gemini.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

const gemini = path.join(repoRoot, 'node_modules', '.bin', 'gemini');
let stack: TestStack;
const endpoints: ScriptedGemini[] = [];

beforeAll(async () => {
  stack = await TestStack.create();
});
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
});
afterAll(async () => {
  await stack?.stop();
});

/** A runner on a gemini profile whose endpoint plays `script`; its project is a plain folder. */
async function geminiRunner(script: Turn[]) {
  const endpoint = await startScriptedGemini(script);
  endpoints.push(endpoint);
  const profiles = await fs.mkdtemp(path.join(stack.root, 'gemini-profiles-'));
  const home = await fs.mkdtemp(path.join(stack.root, 'gemini-user-'));
  await fs.writeFile(
    path.join(profiles, 'gemini-test.json'),
    JSON.stringify({ type: 'gemini', command: [gemini], config: { model: 'gemini-2.5-pro', settings: { general: { maxAttempts: 1 } } } }),
  );
  const tag = uniqueTag('gemini');
  const runner = await stack.startRunner({
    profile: 'gemini-test',
    tags: [tag],
    extraArgs: ['--profiles-dir', profiles],
    env: { GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url, HOME: home },
  });
  return { endpoint, tag, projectDir: runner.projectDir };
}

const task = (tag: string, prompt: string, extra: Record<string, unknown> = {}) => ({ agent: 'gemini-coder', prompt, additional_demands: { tags: [tag] }, ...extra });

async function runEvents(id: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
}

describe('the gemini executor on the real CLI', () => {
  it('writes and edits files and runs a command, reporting the session, tools, files and usage', async () => {
    const script: Turn[] = [];
    const setup = await geminiRunner(script);
    const file = path.join(setup.projectDir, 'notes.md');
    script.push(
      callTool('write_file', { file_path: file, content: 'status: draft\n' }),
      callTool('replace', { file_path: file, instruction: 'finish', old_string: 'draft', new_string: 'final' }),
      callTool('run_shell_command', { command: 'echo built > build.log' }),
      reply('Done.'),
    );
    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'write, finish and build') });
    expect(run.status).toBe('completed');
    expect(await fs.readFile(file, 'utf8')).toBe('status: final\n');
    expect(await fs.readFile(path.join(setup.projectDir, 'build.log'), 'utf8')).toBe('built\n');
    expect(run.result).toMatchObject({ text: 'Done.' });
    const events = await runEvents(run.id);
    expect(events.find((event) => event.kind === 'session_started' && event.data.session_id)?.data.session_id).toBe(run.executor_session_id);
    expect(events.filter((event) => event.kind === 'tool_call').map((event) => event.data.name)).toEqual(['write_file', 'replace', 'run_shell_command']);
    expect(events.filter((event) => event.kind === 'file_touched').map((event) => event.data.tool)).toEqual(['write_file', 'replace']);
    expect(events.find((event) => event.kind === 'usage_tick')?.data).toMatchObject({ final: true });
  });

  it('resumes the session in a follow-up run of the same session', async () => {
    const setup = await geminiRunner([reply('First.'), reply('Second.')]);
    const session = uniqueTag('gem-session');
    const { body: first } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'first question', { session_id: session }) });
    const { body: second } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'second question', { session_id: session, mode: 'resume' }) });
    expect(second.status).toBe('completed');
    expect(second.executor_session_id).toBe(first.executor_session_id);
    expect(JSON.stringify(contentsOf(setup.endpoint.mainRequests.at(-1)!))).toContain('first question');
  });

  it('fails the run with a readable cause when the model API fails', async () => {
    const setup = await geminiRunner([apiError(500, 'INTERNAL', 'the scripted endpoint broke')]);
    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'anything') });
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/^gemini: .*the scripted endpoint broke/);
  });

  it('stops in the middle of a turn, ending the CLI and the copy of itself it starts', async () => {
    const held = gate();
    const setup = await geminiRunner([{ ...reply('never sent'), until: held.promise }]);
    const id = await stack.postRun(task(setup.tag, 'think'));
    await setup.endpoint.waitForMainRequest(1);
    const running = await stack.waitForRun(id, (run) => run.status === 'running');
    const pgid = Number(/pid (\d+)/.exec(running.history.at(-1)!.reason!)![1]);
    const { body } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`);
    held.release();
    expect(body.status).toBe('stopped');
    expect(groupIsAlive(pgid)).toBe(false);
  });
});

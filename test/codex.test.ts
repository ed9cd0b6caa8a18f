import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { groupIsAlive } from '../activities/executors/process.js';
import type { RunEvent } from '../core/events.js';
import { repoRoot } from '../core/paths.js';
import type { RunView } from '../core/schemas.js';
import { apiError, applyPatch, gate, inputOf, reply, runCommand, startScriptedOpenAI, type ScriptedOpenAI, type Turn } from './support/scripted-openai.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

const codex = path.join(repoRoot, 'node_modules', '.bin', 'codex');
let stack: TestStack;
let codexRoot: string;
const endpoints: ScriptedOpenAI[] = [];

beforeAll(async () => {
  stack = await TestStack.create();
  // codex keeps its helpers out of temporary folders: its home lives under the user's cache.
  await fs.mkdir(path.join(os.homedir(), '.cache'), { recursive: true });
  codexRoot = await fs.mkdtemp(path.join(os.homedir(), '.cache', 'ao-test-codex-'));
});
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
});
afterAll(async () => {
  await stack?.stop();
  await fs.rm(codexRoot, { recursive: true, force: true });
});

/** A runner on a codex profile whose Responses endpoint plays `script`. */
async function codexRunner(script: Turn[]) {
  const endpoint = await startScriptedOpenAI(script);
  endpoints.push(endpoint);
  const dir = await fs.mkdtemp(path.join(codexRoot, 'runner-'));
  const [profiles, home, codexHome] = ['profiles', 'home', 'codex-home'].map((name) => path.join(dir, name)) as [string, string, string];
  await Promise.all([profiles, home, codexHome].map((folder) => fs.mkdir(folder)));
  await fs.writeFile(
    path.join(profiles, 'codex-test.json'),
    JSON.stringify({
      type: 'codex',
      command: [codex],
      config: {
        model: 'gpt-5.5',
        sandbox: 'workspace-write',
        provider: { name: 'local', base_url: `${endpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 },
      },
    }),
  );
  const tag = uniqueTag('codex');
  const runner = await stack.startRunner({
    profile: 'codex-test',
    tags: [tag],
    extraArgs: ['--profiles-dir', profiles],
    env: { OPENAI_API_KEY: 'test-key', CODEX_HOME: codexHome, HOME: home },
  });
  return { endpoint, tag, projectDir: runner.projectDir };
}

const task = (tag: string, prompt: string, extra: Record<string, unknown> = {}) => ({ agent: 'codex-coder', prompt, additional_demands: { tags: [tag] }, ...extra });

async function runEvents(id: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
}

describe('the codex executor on the real CLI', () => {
  it('runs a shell command and applies a patch, reporting the thread, commands, files and usage', async () => {
    const setup = await codexRunner([
      runCommand('echo built > build.log'),
      applyPatch('*** Begin Patch\n*** Add File: notes.md\n+written by codex\n*** End Patch\n'),
      reply('Built and noted.'),
    ]);
    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'build and take notes') });
    expect(run.status).toBe('completed');
    expect(await fs.readFile(path.join(setup.projectDir, 'build.log'), 'utf8')).toBe('built\n');
    expect(await fs.readFile(path.join(setup.projectDir, 'notes.md'), 'utf8')).toBe('written by codex\n');
    expect(run.result).toMatchObject({ text: 'Built and noted.' });
    expect(run.executor_session_id).toBeDefined();
    const events = await runEvents(run.id);
    expect(events.find((event) => event.kind === 'session_started' && event.data.session_id)?.data.session_id).toBe(run.executor_session_id);
    expect(events.find((event) => event.kind === 'tool_result')?.data).toMatchObject({ is_error: false, exit_code: 0 });
    expect(events.find((event) => event.kind === 'file_touched')?.data).toMatchObject({ path: path.join(setup.projectDir, 'notes.md'), change: 'add' });
    expect(events.some((event) => event.kind === 'usage_tick')).toBe(true);
  });

  it('resumes the thread in a follow-up run of the same session', async () => {
    const setup = await codexRunner([reply('First.'), reply('Second.')]);
    const session = uniqueTag('thread');
    const { body: first } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'first question', { session_id: session }) });
    const { body: second } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'second question', { session_id: session, mode: 'resume' }) });
    expect(second.status).toBe('completed');
    expect(second.executor_session_id).toBe(first.executor_session_id);
    expect(JSON.stringify(inputOf(setup.endpoint.mainRequests.at(-1)!))).toContain('first question');
  });

  it('fails the run with a readable cause when the model API refuses the request', async () => {
    const setup = await codexRunner([apiError(400, 'invalid_request_error', 'the scripted endpoint says no')]);
    const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: task(setup.tag, 'anything') });
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/^codex: .*the scripted endpoint says no/);
  });

  it('stops in the middle of a turn, ending the CLI and its native child', async () => {
    const held = gate();
    const setup = await codexRunner([{ ...reply('never sent'), until: held.promise }]);
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

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { CreatedToken } from '../core/contract/identity.js';
import * as gemini from './support/scripted-gemini.js';
import { approvalRuns } from './support/approval-runs.js';
import { TestStack, eventually } from './support/stack.js';
import { startSupervisedGemini, supervisedGeminiConfig } from './support/supervised-gemini.js';
import { testTime } from './support/time.js';

/**
 * Supervised Gemini runs, end to end: the real gemini CLI over ACP (`gemini --acp`) against the
 * scripted Gemini endpoint asks about its tool uses (`session/request_permission`), the run waits
 * for an operator, and the decision (the API's workflow update, then the runner command path)
 * reaches the CLI as the option of that kind. Files are checked on disk in the runner's project dir.
 */

type Mode = 'ask' | 'expireDeny';

let stack: TestStack;
let endpoint: gemini.ScriptedGemini;
let operator: string;
const turns: gemini.Turn[] = [];
let runners: Record<Mode, { tag: string; projectDir: string }>;
const SHORT_APPROVAL_SECONDS = Math.ceil(testTime(3_000) / 1000);

beforeAll(async () => {
  stack = await TestStack.create();
  operator = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'gail', role: 'operator' } })).body.token;
  ({ endpoint, runners } = await startSupervisedGemini(stack, turns, {
    ask: supervisedGeminiConfig(),
    expireDeny: supervisedGeminiConfig({ approval_timeout_seconds: SHORT_APPROVAL_SECONDS }),
  }));
});
const { track, pending, waitForPending, decide, exists } = approvalRuns(() => stack, () => endpoint, turns, () => operator);
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});

async function start(mode: Mode, prompt: string): Promise<string> {
  const id = await stack.postRun({ agent: 'gemini-coder', prompt, additional_demands: { tags: [runners[mode].tag] } });
  return track(id);
}
const eventsOf = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
/** What went back to the model for each function call, in the main requests after `from`. */
const functionResponses = (from: number): string[] =>
  endpoint.mainRequests.slice(from).flatMap((request) => gemini.partsOf(request, 'functionResponse').map((part) => JSON.stringify(part.functionResponse)));

describe('a supervised Gemini run', () => {
  it('waits for approval of a shell command, and runs it once an operator allows it', async () => {
    const file = path.join(runners.ask.projectDir, 'allowed.txt');
    turns.push(gemini.callTool('run_shell_command', { command: 'touch allowed.txt' }), gemini.reply('Done.'));
    const id = await start('ask', 'create allowed.txt');
    const [approval] = pending(await waitForPending(id));
    expect(approval).toMatchObject({ tool: 'run_shell_command', command: 'touch allowed.txt', rule: 'approval_required_tools: run_shell_command', status: 'pending' });
    expect(await exists(file), 'nothing runs before the decision').toBe(false);

    expect((await decide(id, approval!.id, { decision: 'allow', note: 'go ahead' })).body).toMatchObject({ status: 'allowed', decided_by: 'gail' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(file)).toBe(true);
    expect((run.result as { text: string }).text).toBe('Done.');
    const events = await eventsOf(id);
    expect(events.find((event) => event.kind === 'tool_call')?.data).toMatchObject({ name: 'run_shell_command', input: { kind: 'execute', title: 'touch allowed.txt' } });
    expect(events.find((event) => event.kind === 'tool_result')?.data).toMatchObject({ is_error: false });
    expect(events.find((event) => event.kind === 'approval_resolved')?.data).toMatchObject({ decision: 'allow', by: 'gail', note: 'go ahead' });
  });

  it('shows a file write with its path, and writes it once allowed', async () => {
    const file = path.join(runners.ask.projectDir, 'written.txt');
    turns.push(gemini.callTool('write_file', { file_path: file, content: 'hello\n' }), gemini.reply('Wrote it.'));
    const id = await start('ask', 'write written.txt');
    const [approval] = pending(await waitForPending(id));
    expect(approval).toMatchObject({ tool: 'write_file', files: [file] });
    expect(approval!.input).toMatchObject({ kind: 'edit', diffs: [{ path: file, new_text: 'hello\n' }] });
    await decide(id, approval!.id, { decision: 'allow' });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    expect(await fs.readFile(file, 'utf8')).toBe('hello\n');
    // Relative to the workspace (here the project folder), as the run's diff names files.
    expect((await eventsOf(id)).filter((event) => event.kind === 'file_touched').map((event) => event.data.path)).toEqual([path.basename(file)]);
  });

  it('does not run a denied command, and the model is told it was refused', async () => {
    const file = path.join(runners.ask.projectDir, 'denied.txt');
    turns.push(gemini.callTool('run_shell_command', { command: 'touch denied.txt' }), gemini.reply('Understood.'));
    const id = await start('ask', 'create denied.txt');
    const [approval] = pending(await waitForPending(id));
    const before = endpoint.mainRequests.length;
    expect((await decide(id, approval!.id, { decision: 'deny', note: 'not here' })).body).toMatchObject({ status: 'denied' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(file)).toBe(false);
    expect(functionResponses(before).join('\n')).toContain('canceled by the user');
    const refused = (await eventsOf(id)).find((event) => event.kind === 'tool_result');
    expect(refused?.data).toMatchObject({ is_error: true, output: 'refused: not here' });
  });
});

describe('a supervised Gemini run with a secret-shaped command', () => {
  it('shows the command redacted, yet runs what the model wrote', async () => {
    const key = `sk-ant-api03-${'x1'.repeat(16)}`;
    turns.push(gemini.callTool('run_shell_command', { command: `echo ${key} > shaped.txt` }), gemini.reply(`Kept ${key}.`));
    const id = await start('ask', 'keep the key');
    const [approval] = pending(await waitForPending(id));
    expect(approval!.command).not.toContain(key);
    expect(JSON.stringify(approval!.input)).not.toContain(key);
    await decide(id, approval!.id, { decision: 'allow' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await fs.readFile(path.join(runners.ask.projectDir, 'shaped.txt'), 'utf8')).toBe(`${key}\n`);
    expect(JSON.stringify(run.result)).not.toContain(key);
    expect(JSON.stringify(await eventsOf(id))).not.toContain(key);
  });
});

describe('a Gemini approval nobody answers', () => {
  it('is denied when its profile says deny, and the command never runs', async () => {
    turns.push(gemini.callTool('run_shell_command', { command: 'touch unanswered.txt' }), gemini.reply('Gave up.'));
    const before = endpoint.mainRequests.length;
    const id = await start('expireDeny', 'create unanswered.txt');
    const [approval] = pending(await waitForPending(id));
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.approvals?.find((entry) => entry.id === approval!.id)?.status).toBe('expired');
    expect(await exists(path.join(runners.expireDeny.projectDir, 'unanswered.txt'))).toBe(false);
    expect(functionResponses(before + 1).join('\n')).toContain('canceled by the user');
  });
});

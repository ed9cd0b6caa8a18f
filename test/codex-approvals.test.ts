import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import type { CreatedToken } from '../core/contract/identity.js';
import * as openai from './support/scripted-openai.js';
import { approvalRuns } from './support/approval-runs.js';
import { TestStack, eventually } from './support/stack.js';
import { startSupervisedCodex, supervisedCodexConfig } from './support/supervised-codex.js';
import type { SupervisedRunner } from './support/supervised-runners.js';
import { testTime } from './support/time.js';

/**
 * Supervised Codex runs, end to end: the real `codex app-server` from node_modules against the
 * scripted Responses endpoint asks about commands and patches (approval policy `untrusted`), the
 * run waits for an operator, and the decision (the API's workflow update, then the runner command
 * path) reaches the CLI as `accept` or `decline`. Files are checked on disk.
 */

type Mode = 'ask' | 'expireDeny';

let stack: TestStack;
let endpoint: openai.ScriptedOpenAI;
let operator: string;
const turns: openai.Turn[] = [];
let runners: Record<Mode, SupervisedRunner>;
const SHORT_APPROVAL_SECONDS = Math.ceil(testTime(3_000) / 1000);

beforeAll(async () => {
  stack = await TestStack.create();
  operator = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'omar', role: 'operator' } })).body.token;
  ({ endpoint, runners } = await startSupervisedCodex(stack, turns, (scripted) => ({
    ask: supervisedCodexConfig(scripted, { approval_timeout_seconds: 3600 }),
    expireDeny: supervisedCodexConfig(scripted, { approval_timeout_seconds: SHORT_APPROVAL_SECONDS }),
  })));
});
const { track, pending, waitForPending, decide, exists } = approvalRuns(() => stack, () => endpoint, turns, () => operator);
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});

async function start(mode: Mode, prompt: string): Promise<string> {
  const id = await stack.postRun({ agent: 'codex-coder', prompt, additional_demands: { tags: [runners[mode].tag] } });
  return track(id);
}
const eventsOf = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
/** What the model was told about one tool call: its output in the requests that followed. */
const outputsFor = (callId: string): string[] =>
  endpoint.mainRequests
    .flatMap((request) => [...openai.inputOf(request, 'function_call_output'), ...openai.inputOf(request, 'custom_tool_call_output')])
    .filter((item) => item.call_id === callId)
    .map((item) => (typeof item.output === 'string' ? item.output : JSON.stringify(item.output)));
const command = (cmd: string, id: string): openai.ReplyTurn => ({ tools: [{ tool: 'exec_command', input: { cmd }, id }] });

describe('a supervised Codex run', () => {
  it('waits for approval of a command, shows it as the model wrote it, and runs it once an operator allows it', async () => {
    const file = path.join(runners.ask.projectDir, 'allowed.txt');
    turns.push(command('touch allowed.txt', 'call_allowed'), openai.reply('Done.'));
    const id = await start('ask', 'create allowed.txt');
    const [approval] = pending(await waitForPending(id));
    expect(approval).toMatchObject({ tool: 'exec_command', command: 'touch allowed.txt', rule: 'approval_required_tools: exec_command', status: 'pending' });
    expect(await exists(file), 'nothing runs before the decision').toBe(false);

    expect((await decide(id, approval!.id, { decision: 'allow', note: 'go ahead' })).body).toMatchObject({ status: 'allowed', decided_by: 'omar' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(file)).toBe(true);
    expect(run.result).toMatchObject({ text: 'Done.' });
    expect(outputsFor('call_allowed').join('\n')).toContain('Process exited with code 0');
    const events = await eventsOf(id);
    expect(events.find((event) => event.kind === 'tool_result' && event.data.tool_use_id === 'call_allowed')?.data).toMatchObject({ is_error: false, exit_code: 0 });
  });

  it('asks about a patch with the files it writes, and applies it once allowed', async () => {
    const file = path.join(runners.ask.projectDir, 'patched.txt');
    turns.push(openai.applyPatch('*** Begin Patch\n*** Add File: patched.txt\n+approved\n*** End Patch\n'), openai.reply('Patched.'));
    const id = await start('ask', 'write patched.txt');
    const [approval] = pending(await waitForPending(id));
    expect(approval).toMatchObject({ tool: 'apply_patch', rule: 'approval_required_tools: apply_patch' });
    expect(approval!.files?.map((entry) => path.basename(entry))).toEqual(['patched.txt']);
    expect(await exists(file)).toBe(false);
    await decide(id, approval!.id, { decision: 'allow' });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    expect(await fs.readFile(file, 'utf8')).toBe('approved\n');
    const events = await eventsOf(id);
    expect(events.some((event) => event.kind === 'file_touched' && path.basename(String(event.data.path)) === 'patched.txt')).toBe(true);
  });

  it('does not run a denied command, and the model is told no, with the operator’s reason', async () => {
    const file = path.join(runners.ask.projectDir, 'denied.txt');
    turns.push(command('touch denied.txt', 'call_denied'), openai.reply('Understood.'));
    const id = await start('ask', 'create denied.txt');
    const [approval] = pending(await waitForPending(id));
    expect((await decide(id, approval!.id, { decision: 'deny', note: 'not in this repo' })).body).toMatchObject({ status: 'denied' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(file)).toBe(false);
    const next = endpoint.mainRequests.at(-1)!;
    expect(outputsFor('call_denied').join('\n')).toContain('rejected by user');
    expect(openai.messageTexts(next, 'user').join('\n')).toContain('not in this repo');
    const events = await eventsOf(id);
    expect(events.find((event) => event.kind === 'tool_result' && event.data.tool_use_id === 'call_denied')?.data).toMatchObject({ is_error: true, status: 'declined' });
  });

  it('shows two commands pending at once and takes each decision on its own', async () => {
    turns.push({ tools: [{ tool: 'exec_command', input: { cmd: 'touch both-a.txt' }, id: 'call_both_a' }, { tool: 'exec_command', input: { cmd: 'touch both-b.txt' }, id: 'call_both_b' }] }, openai.reply('Both handled.'));
    const id = await start('ask', 'create both files');
    const approvals = pending(await waitForPending(id, 2));
    const byCommand = (cmd: string) => approvals.find((approval) => approval.command === cmd)!;
    expect(approvals.map((approval) => approval.command).sort()).toEqual(['touch both-a.txt', 'touch both-b.txt']);
    await decide(id, byCommand('touch both-b.txt').id, { decision: 'deny' });
    expect((await stack.api<RunView>('GET', `/runs/${id}`)).body.status, 'one is still pending').toBe('waiting_for_approval');
    await decide(id, byCommand('touch both-a.txt').id, { decision: 'allow' });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    expect(await exists(path.join(runners.ask.projectDir, 'both-a.txt'))).toBe(true);
    expect(await exists(path.join(runners.ask.projectDir, 'both-b.txt'))).toBe(false);
    expect(outputsFor('call_both_b').join('\n')).toContain('rejected by user');
  });

  it('shows a secret-shaped command redacted, yet runs the command the model wrote', async () => {
    const key = `sk-ant-api03-${'x1'.repeat(16)}`;
    turns.push(command(`echo ${key} > shaped.txt`, 'call_shaped'), openai.reply('Kept.'));
    const id = await start('ask', 'keep the key');
    const [approval] = pending(await waitForPending(id));
    expect(approval!.command).toContain('> shaped.txt');
    expect(JSON.stringify(approval)).not.toContain(key);
    await decide(id, approval!.id, { decision: 'allow' });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    expect(await fs.readFile(path.join(runners.ask.projectDir, 'shaped.txt'), 'utf8')).toBe(`${key}\n`);
  });

  it('stops while waiting for an approval, withdrawing it, and the command never runs', async () => {
    turns.push(command('touch never.txt', 'call_never'));
    const id = await start('ask', 'create never.txt');
    const [approval] = pending(await waitForPending(id));
    const { body } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`, { token: operator });
    expect(body.status).toBe('stopped');
    expect(body.approvals?.find((entry) => entry.id === approval!.id)?.status).toBe('withdrawn');
    expect(await exists(path.join(runners.ask.projectDir, 'never.txt'))).toBe(false);
  });
});

describe('a Codex approval nobody answers', () => {
  it('is denied when its profile says deny, and the command never runs', async () => {
    turns.push(command('touch unanswered.txt', 'call_unanswered'), openai.reply('Gave up.'));
    const id = await start('expireDeny', 'create unanswered.txt');
    const [approval] = pending(await waitForPending(id));
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.approvals?.find((entry) => entry.id === approval!.id)?.status).toBe('expired');
    expect(await exists(path.join(runners.expireDeny.projectDir, 'unanswered.txt'))).toBe(false);
    expect(outputsFor('call_unanswered').join('\n')).toContain('rejected by user');
    expect(openai.messageTexts(endpoint.mainRequests.at(-1)!, 'user').join('\n')).toContain('no operator answered');
  });
});

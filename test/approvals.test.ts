import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../activities/git.js';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import type { AuditEntry, CreatedToken } from '../core/contract/identity.js';
import * as anthropic from './support/scripted-anthropic.js';
import { approvalRuns } from './support/approval-runs.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { startSupervisedClaude, supervisedConfig } from './support/supervised-claude.js';
import { testTime } from './support/time.js';
import { gitProject as initGitProject } from './support/git-project.js';

/**
 * Supervised Claude Code runs, end to end: the real CLI from node_modules against the scripted
 * Anthropic endpoint asks about its tool uses over its stream-json control protocol, the run waits
 * for an operator, and the decision (through the API's workflow update and the runner command
 * path) reaches the CLI. Files are checked on disk in the runner's project dir, which the
 * unprivileged executor user may write.
 */

type Mode = 'ask' | 'expireDeny' | 'expireFail';

let stack: TestStack;
let endpoint: anthropic.ScriptedAnthropic;
let operator: string;
/** The scripted endpoint's turns: each test adds its own, in order. */
const turns: anthropic.Turn[] = [];
let runners: Record<Mode, { tag: string; projectDir: string }>;
/** Short enough for a test to wait out, scaled like every test budget. */
const SHORT_APPROVAL_SECONDS = Math.ceil(testTime(3_000) / 1000);

beforeAll(async () => {
  stack = await TestStack.create();
  operator = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'olga', role: 'operator' } })).body.token;
  ({ endpoint, runners } = await startSupervisedClaude(stack, turns, {
    ask: supervisedConfig({ approval_timeout_seconds: 3600 }),
    expireDeny: supervisedConfig({ approval_timeout_seconds: SHORT_APPROVAL_SECONDS }),
    expireFail: supervisedConfig({ approval_timeout_seconds: SHORT_APPROVAL_SECONDS, on_approval_timeout: 'fail' }),
  }));
});
const { track, pending, waitForPending, decide, exists } = approvalRuns(() => stack, () => endpoint, turns, () => operator);
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});

async function start(mode: Mode, prompt: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await stack.postRun({ agent: 'coder', prompt, additional_demands: { tags: [runners[mode].tag] }, ...extra });
  return track(id);
}
const eventsOf = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
/** The text of every tool_result the CLI sent the endpoint for this tool use. */
const toolResults = (toolUseId: string): string[] =>
  endpoint.mainRequests
    .flatMap((request) => anthropic.blocksOf(request, 'tool_result'))
    .filter((block) => block.tool_use_id === toolUseId)
    .map((block) => (typeof block.content === 'string' ? block.content : JSON.stringify(block.content)));

describe('a supervised Claude Code run', () => {
  let allowed: { runId: string; approvalId: string };

  it('waits for approval, shows the request, and runs the tool once an operator allows it', async () => {
    const file = path.join(runners.ask.projectDir, 'allowed.txt');
    turns.push(anthropic.callTool('Bash', { command: 'touch allowed.txt', description: 'Create allowed.txt' }), anthropic.reply('Done.'));
    const id = await start('ask', 'create allowed.txt');
    const waiting = await waitForPending(id);
    const [approval] = pending(waiting);
    expect(approval).toMatchObject({ tool: 'Bash', command: 'touch allowed.txt', rule: 'approval_required_tools: Bash', status: 'pending' });
    expect(Date.parse(approval!.expires_at)).toBeGreaterThan(Date.parse(approval!.requested_at));
    expect(await exists(file), 'nothing runs before the decision').toBe(false);

    const decided = await decide(id, approval!.id, { decision: 'allow', note: 'fine by me' });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    expect(decided.body).toMatchObject({ id: approval!.id, status: 'allowed', decided_by: 'olga', note: 'fine by me' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(file)).toBe(true);
    expect(run.history.map((change) => change.status)).toEqual(expect.arrayContaining(['waiting_for_approval', 'running', 'completed']));
    const decidedChange = run.history.find((change) => change.by === 'olga');
    expect(decidedChange?.status).toBe('running');
    expect(decidedChange?.reason).toContain('fine by me');

    const events = await eventsOf(id);
    expect(events.find((event) => event.kind === 'approval_requested')?.data).toMatchObject({ id: approval!.id, tool: 'Bash', command: 'touch allowed.txt' });
    expect(events.find((event) => event.kind === 'approval_resolved')?.data).toMatchObject({ approval_id: approval!.id, decision: 'allow', by: 'olga', note: 'fine by me' });
    const audit = (await stack.api<{ entries: AuditEntry[] }>('GET', '/audit?limit=1000')).body.entries;
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'olga', action: 'run.approval', target: id })]));
    allowed = { runId: id, approvalId: approval!.id };
  });

  it('refuses a decision on an approval of a run that has ended, with the reason', async () => {
    const again = await decide(allowed.runId, allowed.approvalId, { decision: 'deny' });
    expect(again.status).toBe(409);
    expect(again.body.error).toContain('already ended');
    expect((await decide(allowed.runId, 'no-such-approval', { decision: 'allow' })).status).toBe(404);
    expect((await decide(allowed.runId, allowed.approvalId, { decision: 'maybe' })).status).toBe(400);
  });

  it('does not run a denied tool, and tells the model why', async () => {
    const file = path.join(runners.ask.projectDir, 'denied.txt');
    turns.push({ tools: [{ tool: 'Bash', input: { command: 'touch denied.txt' }, id: 'toolu_denied' }] }, anthropic.reply('Understood.'));
    const id = await start('ask', 'create denied.txt');
    const [approval] = pending(await waitForPending(id));
    expect((await decide(id, approval!.id, { decision: 'deny', note: 'not in this repo' })).body).toMatchObject({ status: 'denied', decided_by: 'olga' });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(file)).toBe(false);
    expect(toolResults('toolu_denied').join('\n')).toContain('not in this repo');
  });

  it('shows two approvals pending at once and takes each decision on its own', async () => {
    const first = '/etc/hostname';
    const second = '/etc/passwd';
    turns.push(
      {
        tools: [
          { tool: 'Read', input: { file_path: first }, id: 'toolu_both_a' },
          { tool: 'Read', input: { file_path: second }, id: 'toolu_both_b' },
        ],
      },
      anthropic.reply('Both handled.'),
    );
    const id = await start('ask', 'read both files');
    const approvals = pending(await waitForPending(id, 2));
    expect(approvals.map((approval) => approval.files?.[0]).sort()).toEqual([first, second].sort());
    const byFile = (file: string) => approvals.find((approval) => approval.files?.[0] === file)!;
    expect((await decide(id, byFile(second).id, { decision: 'deny', note: 'not that one' })).status).toBe(200);
    const twice = await decide(id, byFile(second).id, { decision: 'allow' });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toContain('not pending');
    expect(twice.body.details).toEqual({ type: 'APPROVAL_NOT_PENDING' });
    expect((await stack.api<RunView>('GET', `/runs/${id}`)).body.status, 'one is still pending').toBe('waiting_for_approval');
    await decide(id, byFile(first).id, { decision: 'allow' });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    expect(toolResults('toolu_both_b').join('\n')).toContain('not that one');
    expect(toolResults('toolu_both_a').join('\n')).not.toContain('not that one');
  });

  it('remembers an allowed program for the rest of the run', async () => {
    turns.push(anthropic.callTool('Bash', { command: 'touch remembered-1.txt' }), anthropic.callTool('Bash', { command: 'touch remembered-2.txt' }), anthropic.reply('Both.'));
    const id = await start('ask', 'create two files');
    const [approval] = pending(await waitForPending(id));
    await decide(id, approval!.id, { decision: 'allow', remember: true });
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.approvals).toHaveLength(1);
    expect(await exists(path.join(runners.ask.projectDir, 'remembered-1.txt'))).toBe(true);
    expect(await exists(path.join(runners.ask.projectDir, 'remembered-2.txt'))).toBe(true);
  });

  it('shows a secret-shaped input redacted, yet runs the tool with what the model wrote', async () => {
    const key = `sk-ant-api03-${'x1'.repeat(16)}`;
    turns.push(anthropic.callTool('Bash', { command: `echo ${key} > shaped.txt` }), anthropic.reply('Kept.'));
    const id = await start('ask', 'keep the key');
    const [approval] = pending(await waitForPending(id));
    expect(approval!.command).not.toContain(key);
    expect(JSON.stringify(approval!.input)).not.toContain(key);
    await decide(id, approval!.id, { decision: 'allow' });
    expect((await stack.waitForRun(id)).status).toBe('completed');
    expect(await fs.readFile(path.join(runners.ask.projectDir, 'shaped.txt'), 'utf8')).toBe(`${key}\n`);
  });

  it('stops while waiting for an approval, withdrawing it, and the tool never runs', async () => {
    turns.push(anthropic.callTool('Bash', { command: 'touch never.txt' }));
    const id = await start('ask', 'create never.txt');
    const [approval] = pending(await waitForPending(id));
    const { body } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`, { token: operator });
    expect(body.status).toBe('stopped');
    expect(body.approvals?.find((entry) => entry.id === approval!.id)?.status).toBe('withdrawn');
    expect(await exists(path.join(runners.ask.projectDir, 'never.txt'))).toBe(false);
    expect((await decide(id, approval!.id, { decision: 'allow' })).status).toBe(409);
  });

  it('does not count the time waiting for an approval against the run’s timeout', async () => {
    const timeoutSeconds = Math.ceil(testTime(20_000) / 1000);
    turns.push(anthropic.callTool('Bash', { command: 'touch patient.txt' }), anthropic.reply('Waited.'));
    const id = await start('ask', 'create patient.txt', { timeout_seconds: timeoutSeconds });
    const [approval] = pending(await waitForPending(id));
    // Wait, as a person might, until the run has waited longer than its whole timeout.
    await eventually(
      async () => {
        const run = (await stack.api<RunView>('GET', `/runs/${id}`)).body;
        if (run.status !== 'waiting_for_approval') throw new Error(`the run is ${run.status}`);
        if (Date.now() - Date.parse(approval!.requested_at) <= (timeoutSeconds + 2) * 1000) throw new Error('not waited long enough');
      },
      testTime(30_000) + timeoutSeconds * 1000,
      500,
    );
    expect((await decide(id, approval!.id, { decision: 'allow' })).status).toBe(200);
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await exists(path.join(runners.ask.projectDir, 'patient.txt'))).toBe(true);
  });
});

describe('an approval nobody answers', () => {
  it('is denied when its profile says deny', async () => {
    turns.push({ tools: [{ tool: 'Bash', input: { command: 'touch unanswered.txt' }, id: 'toolu_unanswered' }] }, anthropic.reply('Gave up.'));
    const id = await start('expireDeny', 'create unanswered.txt');
    const [approval] = pending(await waitForPending(id));
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.approvals?.find((entry) => entry.id === approval!.id)?.status).toBe('expired');
    expect(await exists(path.join(runners.expireDeny.projectDir, 'unanswered.txt'))).toBe(false);
    expect(toolResults('toolu_unanswered').join('\n')).toContain('no operator answered');
    expect((await decide(id, approval!.id, { decision: 'allow' })).status).toBe(409);
  });

  it('fails the run when its profile says fail', async () => {
    turns.push(anthropic.callTool('Bash', { command: 'touch failed.txt' }));
    const id = await start('expireFail', 'create failed.txt');
    await waitForPending(id);
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ type: 'APPROVAL_TIMEOUT' });
    expect(await exists(path.join(runners.expireFail.projectDir, 'failed.txt'))).toBe(false);
  });
});

describe('the shipped supervised profile', () => {
  it('waits for an operator before an edit, end to end in a git project’s worktree', async () => {
    const projectDir = await fs.mkdtemp(path.join(stack.root, 'shipped-supervised-'));
    await initGitProject(projectDir);
    const tag = uniqueTag('shipped-supervised');
    // profiles/supervised.json as shipped: no profiles dir of the test's own.
    await stack.startRunner({ profile: 'supervised', tags: [tag], projectDir, env: { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } });
    // A run's worktree is its session's folder: known before the run starts.
    const session = uniqueTag('shipped');
    const file = path.join(projectDir, '.ao', 'worktrees', session, 'approved.md');
    turns.push(anthropic.callTool('Write', { file_path: file, content: 'approved\n' }), anthropic.reply('Written.'));
    const id = track(await stack.postRun({ agent: 'coder', prompt: 'write the file', session_id: session, additional_demands: { tags: [tag] } }));
    const approval = pending(await waitForPending(id))[0]!;
    expect(approval).toMatchObject({ tool: 'Write', files: [file], rule: 'approval_required_tools: Write' });
    expect(await exists(file)).toBe(false);
    expect((await decide(id, approval.id, { decision: 'allow' })).status).toBe(200);
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(await git(projectDir, ['show', `ao/${id}:approved.md`])).toBe('approved\n');
  });
});

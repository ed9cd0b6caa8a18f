import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import type { CreatedToken } from '../core/contract/identity.js';
import * as anthropic from './support/scripted-anthropic.js';
import { approvalRuns } from './support/approval-runs.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { startSupervisedClaude } from './support/supervised-claude.js';

/**
 * Run policies end to end: the real claude CLI against the scripted Anthropic endpoint, asking ao
 * over its stream-json control protocol; ao's judge answers first (deny, allow, or an operator),
 * and the policy is also in the CLI's own settings. Files are checked on disk. Also: a failing
 * pre_run hook put to an operator, and a procedural script's network under `network: restricted`.
 */

let stack: TestStack;
let endpoint: anthropic.ScriptedAnthropic;
let operator: string;
const turns: anthropic.Turn[] = [];
let runners: Record<'guarded' | 'accepting', { tag: string; projectDir: string }>;
let hookTag: string;
let scriptTag: string;

const claudeConfig = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  env_passthrough: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'],
  ...extra,
});
/** The guarded profile's policy: nothing in its config asks for approvals; the policy alone supervises it. */
const GUARDED_POLICY = { shell_allow: ['touch'], shell_deny: ['mkdir'], requires_approval_for: ['merge'], paths: { deny: ['.env*'] } };

beforeAll(async () => {
  stack = await TestStack.create();
  operator = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'petra', role: 'operator' } })).body.token;
  ({ endpoint, runners } = await startSupervisedClaude(
    stack,
    turns,
    { guarded: claudeConfig({ permission_mode: 'default' }), accepting: claudeConfig({ permission_mode: 'acceptEdits' }) },
    { guarded: { policy: GUARDED_POLICY }, accepting: { policy: { paths: { deny: ['.env*'] } } } },
  ));

  // An echo profile whose failing pre_run hook is put to an operator.
  const profiles = await fs.mkdtemp(path.join(stack.root, 'hook-profiles-'));
  await fs.mkdir(path.join(profiles, 'hooks'));
  await fs.writeFile(path.join(profiles, 'hooks', 'pre_run'), '#!/bin/sh\necho "lint found 3 problems" >&2\nexit 1\n', { mode: 0o755 });
  await fs.writeFile(path.join(profiles, 'echo-asks.json'), JSON.stringify({ type: 'echo', lifecycle: { hooks_dir: 'hooks', pre_run: { on_failure: 'ask' } } }));
  hookTag = uniqueTag('hook-asks');
  await stack.startRunner({ profile: 'echo-asks', tags: [hookTag], extraArgs: ['--profiles-dir', profiles] });

  scriptTag = uniqueTag('net-probe');
  await stack.startRunner({ profile: 'procedural', tags: [scriptTag] });
  await stack.addScriptAgent({
    name: 'net-probe',
    script_file: 'probe.sh',
    // Reaches the test's HTTP server on the host's loopback through bash's /dev/tcp.
    script_content: '#!/bin/bash\nif exec 3<>/dev/tcp/127.0.0.1/"$2"; then printf "GET /probe HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3 >/dev/null; echo \'{"reached":true}\'; else exit 7; fi\n',
    parameters_schema: { type: 'object', properties: { port: { type: 'integer' } }, required: ['port'] },
  });
});
const { track, pending, waitForPending, decide, exists } = approvalRuns(() => stack, () => endpoint, turns, () => operator);
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});

async function start(body: Record<string, unknown>): Promise<string> {
  const id = await stack.postRun(body);
  return track(id);
}
const claudeRun = (runner: keyof typeof runners, prompt: string, extra: Record<string, unknown> = {}) =>
  start({ agent: 'coder', prompt, additional_demands: { tags: [runners[runner].tag] }, ...extra });
const eventsOf = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });
const ofKind = (events: RunEvent[], kind: RunEvent['kind']) => events.filter((event) => event.kind === kind).map((event) => event.data);
const toolResults = (toolUseId: string): string =>
  endpoint.mainRequests
    .flatMap((request) => anthropic.blocksOf(request, 'tool_result'))
    .filter((block) => block.tool_use_id === toolUseId)
    .map((block) => (typeof block.content === 'string' ? block.content : JSON.stringify(block.content)))
    .join('\n');
const completed = async (id: string): Promise<RunView> => {
  const run = await stack.waitForRun(id);
  expect(run.status, JSON.stringify(run.error)).toBe('completed');
  return run;
};

describe('a Claude Code run under its profile’s policy', () => {
  it('never runs a shell command the policy denies, even smuggled through bash -c, and tells the model the rule', async () => {
    turns.push({ tools: [{ tool: 'Bash', input: { command: "bash -c 'mkdir smuggled-dir'" }, id: 'toolu_smuggled' }] }, anthropic.reply('Could not.'));
    const id = await claudeRun('guarded', 'make a folder');
    const run = await completed(id);
    expect(await exists(path.join(runners.guarded.projectDir, 'smuggled-dir'))).toBe(false);
    expect(run.approvals ?? [], 'nobody was asked').toEqual([]);
    expect(toolResults('toolu_smuggled')).toContain('shell_deny: mkdir');
    expect(ofKind(await eventsOf(id), 'policy_denied')).toEqual([expect.objectContaining({ tool: 'Bash', command: "bash -c 'mkdir smuggled-dir'", rule: 'shell_deny: mkdir' })]);
  });

  it('runs a shell_allow’d command at once, without an operator', async () => {
    turns.push(anthropic.callTool('Bash', { command: 'touch policy-allowed.txt' }), anthropic.reply('Created.'));
    const id = await claudeRun('guarded', 'create policy-allowed.txt');
    const run = await completed(id);
    expect(await exists(path.join(runners.guarded.projectDir, 'policy-allowed.txt'))).toBe(true);
    expect(run.approvals ?? []).toEqual([]);
    expect(run.history.map((change) => change.status)).not.toContain('waiting_for_approval');
    expect(ofKind(await eventsOf(id), 'approval_resolved')).toEqual([expect.objectContaining({ decision: 'allow', reason: expect.stringContaining('shell_allow: touch') as unknown })]);
  });

  it('puts a git push to an operator under requires_approval_for: merge', async () => {
    turns.push({ tools: [{ tool: 'Bash', input: { command: 'git push origin main' }, id: 'toolu_push' }] }, anthropic.reply('Not pushed.'));
    const id = await claudeRun('guarded', 'push the branch');
    const [approval] = pending(await waitForPending(id));
    expect(approval).toMatchObject({ tool: 'Bash', command: 'git push origin main', rule: 'requires_approval_for: merge (git push)' });
    expect((await decide(id, approval!.id, { decision: 'deny', note: 'no pushing from runs' })).status).toBe(200);
    await completed(id);
    expect(toolResults('toolu_push')).toContain('no pushing from runs');
  });

  it('refuses a write to a denied path, and one outside the workspace', async () => {
    const outside = `escape-${uniqueTag('w')}.txt`;
    turns.push(
      { tools: [{ tool: 'Write', input: { file_path: '.env', content: 'TOKEN=1\n' }, id: 'toolu_env' }] },
      { tools: [{ tool: 'Write', input: { file_path: `../${outside}`, content: 'out\n' }, id: 'toolu_outside' }] },
      anthropic.reply('Neither written.'),
    );
    const id = await claudeRun('guarded', 'write two files');
    const run = await completed(id);
    expect(await exists(path.join(runners.guarded.projectDir, '.env'))).toBe(false);
    expect(await exists(path.join(path.dirname(runners.guarded.projectDir), outside))).toBe(false);
    expect(run.approvals ?? []).toEqual([]);
    expect(toolResults('toolu_env')).not.toBe('');
    expect(toolResults('toolu_outside')).toContain('no writes outside the workspace');
    expect(ofKind(await eventsOf(id), 'policy_denied')).toEqual(expect.arrayContaining([expect.objectContaining({ tool: 'Write', rule: expect.stringContaining('no writes outside the workspace') as unknown })]));
  });

  it('takes a run request’s policy on top of the profile’s: it tightens, and cannot loosen', async () => {
    // Through bash -c, so that ao's judge (not only the CLI's own rules) refuses it.
    turns.push({ tools: [{ tool: 'Bash', input: { command: "bash -c 'touch tightened.txt'" }, id: 'toolu_tight' }] }, anthropic.reply('Refused.'));
    const tightened = await claudeRun('guarded', 'create tightened.txt', { policy: { shell_deny: ['touch'] } });
    const run = await completed(tightened);
    expect(run.policy, 'GET /runs/:id shows the request’s policy').toEqual({ shell_deny: ['touch'] });
    expect(await exists(path.join(runners.guarded.projectDir, 'tightened.txt'))).toBe(false);
    expect(toolResults('toolu_tight')).toContain('shell_deny: touch');
    const merged = ofKind(await eventsOf(tightened), 'state_changed').find((data) => data.phase === 'policy');
    expect(merged?.policy, 'the runner reports the merged policy').toMatchObject({ shell_deny: ['mkdir', 'touch'], shell_allow: [['touch']] });

    turns.push({ tools: [{ tool: 'Bash', input: { command: "bash -c 'mkdir loosened-dir'" }, id: 'toolu_loose' }] }, anthropic.reply('Still refused.'));
    const loosening = await claudeRun('guarded', 'make a folder', { policy: { shell_allow: ['bash', 'mkdir'], network: 'open' } });
    await completed(loosening);
    expect(await exists(path.join(runners.guarded.projectDir, 'loosened-dir'))).toBe(false);
    expect(toolResults('toolu_loose')).toContain('shell_deny: mkdir');
  });
});

describe('the policy in the CLI’s own settings', () => {
  it('stops a write to a denied path in acceptEdits mode, where the CLI does not ask ao', async () => {
    turns.push({ tools: [{ tool: 'Write', input: { file_path: '.env.local', content: 'TOKEN=1\n' }, id: 'toolu_accept' }] }, anthropic.reply('Refused by the CLI.'));
    const id = await claudeRun('accepting', 'write .env.local');
    const run = await completed(id);
    expect(await exists(path.join(runners.accepting.projectDir, '.env.local'))).toBe(false);
    expect(run.approvals ?? []).toEqual([]);
    const events = await eventsOf(id);
    expect(ofKind(events, 'policy_denied'), 'the CLI refused it itself, without asking').toEqual([]);
    expect(ofKind(events, 'approval_requested')).toEqual([]);
    expect(toolResults('toolu_accept')).toMatch(/denied|permission/i);
  });
});

describe('a pre_run hook whose profile says on_failure: ask', () => {
  const hookRun = () => start({ agent: 'echo', prompt: 'after the hook', additional_demands: { tags: [hookTag] } });

  it('fails the run with the hook’s failure when the operator denies', async () => {
    const id = await hookRun();
    const [approval] = pending(await waitForPending(id));
    expect(approval).toMatchObject({ tool: 'pre_run hook', rule: expect.stringContaining('lifecycle.pre_run.on_failure: ask') as unknown });
    expect(JSON.stringify(approval!.input)).toContain('lint found 3 problems');
    expect((await decide(id, approval!.id, { decision: 'deny' })).status).toBe(200);
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ type: 'HOOK_FAILED', message: expect.stringContaining('lint found 3 problems') as unknown });
    expect(run.executor_started_at).toBeUndefined();
  });

  it('stops while the question waits, withdrawing it', async () => {
    const id = await hookRun();
    const [approval] = pending(await waitForPending(id));
    const { body } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`, { token: operator });
    expect(body.status).toBe('stopped');
    expect(body.approvals?.find((entry) => entry.id === approval!.id)?.status).toBe('withdrawn');
  });

  it('goes on with the run when the operator allows', async () => {
    const id = await hookRun();
    const [approval] = pending(await waitForPending(id));
    expect((await decide(id, approval!.id, { decision: 'allow', note: 'known lint debt' })).status).toBe(200);
    const run = await completed(id);
    expect(run.history.find((change) => change.by === 'petra')?.reason).toContain('known lint debt');
  });
});

describe('a procedural script under network: restricted', () => {
  let server: http.Server;
  let port: number;
  let probes = 0;
  beforeAll(async () => {
    server = http.createServer((_request, response) => {
      probes += 1;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const probe = (policy?: Record<string, unknown>) => start({ agent: 'net-probe', parameters: { port }, additional_demands: { tags: [scriptTag] }, ...(policy ? { policy } : {}) });

  it('cannot reach a server on the runner’s loopback', async () => {
    const before = probes;
    const run = await stack.waitForRun(await probe({ network: 'restricted' }));
    expect(run.status).toBe('failed');
    expect(run.error?.message).toContain('exited with code 7');
    expect(probes).toBe(before);
  });

  it('reaches it when the network is open', async () => {
    const before = probes;
    const run = await completed(await probe({ network: 'open' }));
    expect(run.result).toEqual({ reached: true });
    expect(probes).toBe(before + 1);
  });
});

describe('a run with a policy on an executor that asks ao nothing', () => {
  it('is refused with the reason instead of running unchecked', async () => {
    const tag = uniqueTag('echo-unchecked');
    await stack.startRunner({ tags: [tag] });
    const run = await stack.waitForRun(await start({ agent: 'echo', prompt: 'x', additional_demands: { tags: [tag] }, policy: { shell_deny: ['rm'] } }));
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ type: 'INVALID_RUN', message: expect.stringContaining('cannot enforce') as unknown });
  });
});

describe('a run request with a bad policy', () => {
  it.each([
    [{ network: 'closed' }, 'policy.network'],
    [{ shell_deny: ['git push; rm -rf /'] }, 'without shell operators'],
    [{ paths: { deny: ['../elsewhere'] } }, 'inside the workspace'],
    [{ requires_approval_for: ['everything'] }, 'policy.requires_approval_for'],
    [{ shell_allowed: ['ls'] }, 'shell_allowed'],
    ['deny everything', 'policy'],
  ])('is refused with 400 and the reason: %j', async (policy, reason) => {
    const { status, body } = await stack.api<{ error: string; details?: unknown }>('POST', '/runs', { body: { agent: 'echo', prompt: 'x', policy } });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain(reason);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroup2Mount } from '../activities/containment/cgroup.js';
import { listProcesses, readProcess } from '../activities/containment/proc.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import type { AuditEntry, CreatedToken } from '../core/contract/identity.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import * as anthropic from './support/scripted-anthropic.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { startSupervisedClaude, supervisedConfig } from './support/supervised-claude.js';
import { testTime } from './support/time.js';

/**
 * Live control of running runs, end to end: input, interrupt, pause, resume and stop through the
 * API's workflow updates and the runner command path, reaching the real claude CLI (against the
 * scripted Anthropic endpoint, whose gates hold a reply mid-turn) and a procedural script on its
 * terminal.
 */

let stack: TestStack;
let operator: string;
let viewer: string;
let endpoint: anthropic.ScriptedAnthropic;
let claudeTag: string;
let scriptTag: string;
const turns: anthropic.Turn[] = [];
const gates: Array<{ release(): void }> = [];
const started: string[] = [];

/** A script that reads one line from its terminal (after the end-of-file every run's stdin starts with) and prints it. */
const ECHO_INPUT_SCRIPT = `#!/bin/sh
read -r _ || true
read -r line
echo "{\\"got\\": \\"$line\\"}"
`;
const SLEEPER_SCRIPT = '#!/bin/sh\nsleep 600\n';

beforeAll(async () => {
  stack = await TestStack.create();
  operator = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'lena', role: 'operator' } })).body.token;
  viewer = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'vic', role: 'viewer' } })).body.token;
  const { approval_required_tools: _none, ...plain } = supervisedConfig({ permission_mode: 'acceptEdits' });
  let runners;
  ({ endpoint, runners } = await startSupervisedClaude(stack, turns, { plain }));
  claudeTag = runners.plain.tag;
  await stack.addScriptAgent({ name: 'echo-input', script_file: 'echo-input.sh', script_content: ECHO_INPUT_SCRIPT });
  await stack.addScriptAgent({ name: 'sleeper', script_file: 'sleeper.sh', script_content: SLEEPER_SCRIPT });
  scriptTag = uniqueTag('live-script');
  await stack.startRunner({ profile: 'procedural', tags: [scriptTag], capacity: 2 });
});
afterEach(async () => {
  for (const held of gates.splice(0)) held.release();
  for (const id of started.splice(0)) {
    const { body } = await stack.api<RunView>('GET', `/runs/${id}`);
    if (!isFinalRunStatus(body.status)) await stack.api('POST', `/runs/${id}/stop?wait=true`, { body: { graceful: false } });
  }
  turns.length = Math.min(turns.length, endpoint.mainRequests.length);
});
afterAll(async () => {
  await endpoint?.close();
  await stack?.stop();
});

async function startClaude(prompt: string): Promise<string> {
  const id = await stack.postRun({ agent: 'coder', prompt, additional_demands: { tags: [claudeTag] } });
  started.push(id);
  return id;
}
async function startScript(agent: string): Promise<string> {
  const id = await stack.postRun({ agent, parameters: {}, additional_demands: { tags: [scriptTag] } });
  started.push(id);
  return id;
}
/** A reply the endpoint holds until the test releases it. */
function held(turn: anthropic.Turn): anthropic.Turn {
  const hold = anthropic.gate();
  gates.push(hold);
  return { ...turn, until: hold.promise };
}
const release = (): void => gates.shift()?.release();
type Answer = { delivered?: boolean; queued?: boolean; status?: string; error?: string; details?: { type: string } };
const send = (id: string, what: string, body?: Record<string, unknown>, token = operator) => stack.api<Answer>('POST', `/runs/${id}/${what}`, { ...(body ? { body } : {}), token });
const running = (id: string): Promise<RunView> => stack.waitForRun(id, (run) => run.status === 'running');
const requestText = (index: number): string => JSON.stringify(endpoint.mainRequests[index]?.body ?? {});
const eventsOf = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });

describe('input into a running Claude Code run', () => {
  it('reaches the model mid-turn: the next request of the same turn carries it, and one result ends the run', async () => {
    const before = endpoint.mainRequests.length;
    turns.push(held(anthropic.callTool('Read', { file_path: 'README.md' })), anthropic.reply('Done, with the note.'));
    const id = await startClaude('look around');
    await endpoint.waitForMainRequest(before + 1);
    await running(id);

    const sent = await send(id, 'input', { text: 'also mention the banana' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toEqual({ delivered: true, queued: false });
    release();

    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(requestText(before + 1)).toContain('also mention the banana');
    expect(run.history.find((change) => change.by === 'lena')?.reason).toMatch(/^input from lena/);
    const events = await eventsOf(id);
    expect(events.find((event) => event.kind === 'input_sent')?.data).toMatchObject({ text: 'also mention the banana', by: 'lena', queued: false });
    const audit = (await stack.api<{ entries: AuditEntry[] }>('GET', '/audit?limit=1000')).body.entries;
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'lena', action: 'run.input', target: id })]));

    const late = await send(id, 'input', { text: 'too late' });
    expect(late.status).toBe(409);
    expect(late.body.error).toContain('already ended');
  });

  it('after an interrupt the run stays running, and the next input starts a new turn that completes it', async () => {
    const before = endpoint.mainRequests.length;
    turns.push(held(anthropic.reply('a long answer that never comes')), anthropic.reply('Fine, the short version.'));
    const id = await startClaude('write an essay');
    await endpoint.waitForMainRequest(before + 1);
    await running(id);

    const interrupted = await send(id, 'interrupt');
    expect(interrupted.status, JSON.stringify(interrupted.body)).toBe(200);
    const waiting = await stack.waitForRun(id, (run) => run.history.some((change) => change.reason?.startsWith('interrupted')));
    expect(waiting.status).toBe('running');
    expect(endpoint.mainRequests).toHaveLength(before + 1);

    const input = await send(id, 'input', { text: 'just the short version please' });
    expect([200, 202], JSON.stringify(input.body)).toContain(input.status);
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(requestText(before + 1)).toContain('just the short version please');
    expect((run.result as { text?: string }).text).toBe('Fine, the short version.');
  });

  it('refuses bad input, a viewer, an unknown run and a run not running yet, each with a clear answer', async () => {
    expect((await send('00000000-0000-4000-8000-000000000000', 'input', { text: 'hello' })).status).toBe(404);
    // No runner has this tag: the run stays pending.
    const id = await stack.postRun({ agent: 'sleeper', parameters: {}, additional_demands: { tags: [uniqueTag('nobody')] } });
    started.push(id);
    expect((await send(id, 'input', { text: '' })).status).toBe(400);
    expect((await send(id, 'input', { text: 'x', extra: true })).status).toBe(400);
    expect((await send(id, 'input', { text: 'hi' }, viewer)).status).toBe(403);
    expect((await send(id, 'pause', undefined, viewer)).status).toBe(403);
    const early = await send(id, 'input', { text: 'hi' });
    expect(early.status).toBe(409);
    expect(early.body.error).toContain('not running yet (pending)');
    expect((await send(id, 'pause')).status).toBe(409);
  });
});

describe('pause and resume', () => {
  it('holds the CLI: no request reaches the endpoint while paused, the run shows paused, and resume continues it', async () => {
    const before = endpoint.mainRequests.length;
    turns.push(held(anthropic.callTool('Read', { file_path: 'README.md' })), anthropic.reply('Read it.'));
    const id = await startClaude('read the readme');
    await endpoint.waitForMainRequest(before + 1);
    await running(id);

    const paused = await send(id, 'pause');
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.status).toBe('paused');
    expect((await stack.api<RunView>('GET', `/runs/${id}`)).body.status).toBe('paused');
    expect((await send(id, 'pause')).status, 'a second pause').toBe(409);
    release();
    // The reply is there; a frozen CLI cannot read it or ask again. A fixed wait, to see that nothing happens.
    await sleep(testTime(1_500));
    expect(endpoint.mainRequests, 'no request while paused').toHaveLength(before + 1);

    const resumed = await send(id, 'resume');
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.status).toBe('running');
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(endpoint.mainRequests.length).toBeGreaterThan(before + 1);
    expect(run.history.filter((change) => change.by === 'lena').map((change) => change.status)).toEqual(['paused', 'running']);
    expect((await send(id, 'resume')).status, 'resume of an ended run').toBe(409);
  });

  it('stops the run’s timeout clock while paused', async () => {
    const timeoutSeconds = Math.ceil(testTime(3_000) / 1000);
    const id = await stack.postRun({ agent: 'echo-input', parameters: {}, timeout_seconds: timeoutSeconds, additional_demands: { tags: [scriptTag] } });
    started.push(id);
    await running(id);
    expect((await send(id, 'pause')).status).toBe(200);
    // Paused for twice its whole timeout: a clock that ran on would have ended it.
    await sleep(timeoutSeconds * 2000);
    expect((await stack.api<RunView>('GET', `/runs/${id}`)).body.status).toBe('paused');
    expect((await send(id, 'resume')).status).toBe(200);
    expect((await send(id, 'input', { text: 'still here' })).status).toBe(200);
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
  });

  it('stops a paused run: its processes are thawed and end', async () => {
    const id = await startScript('sleeper');
    await running(id);
    expect((await send(id, 'pause')).status).toBe(200);
    const stopped = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`, { token: operator });
    expect(stopped.body.status).toBe('stopped');
    const ended = (await eventsOf(id)).find((event) => event.kind === 'session_ended');
    expect(ended?.data).toMatchObject({ outcome: 'stopped', signal: 'SIGTERM' });
  });
});

/** The executor's pid, from the run's history. */
const executorPid = (run: RunView): number => Number(/executor started \(pid (\d+)\)/.exec(run.history.map((change) => change.reason).join('\n'))![1]);
/** Whether the kernel holds the executor's processes frozen: its cgroup's `frozen 1`, or every process of its group stopped (`T`). */
function frozen(pid: number, kind: 'cgroup' | 'process-group'): boolean {
  if (kind === 'cgroup') {
    const own = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((line) => line.startsWith('0::'))!.slice(3);
    return /^frozen 1$/m.test(fs.readFileSync(path.join(cgroup2Mount()!, own, 'cgroup.events'), 'utf8'));
  }
  const group = listProcesses().filter((entry) => entry.pgrp === pid);
  return group.length > 1 && group.every((entry) => entry.state === 'T');
}

describe.each(['cgroup', 'process-group'] as const)('pause with %s containment', (kind) => {
  it('freezes every process of the run and resume thaws them', async () => {
    const tag = uniqueTag(`pause-${kind}`);
    await stack.startRunner({ profile: 'procedural', tags: [tag], extraArgs: ['--containment', kind] });
    const id = await stack.postRun({ agent: 'sleeper', parameters: {}, additional_demands: { tags: [tag] } });
    started.push(id);
    const pid = executorPid(await running(id));
    // The script's own child (sleep) must exist before the freeze can be seen on the whole group.
    await eventually(() => {
      if (!listProcesses().some((entry) => entry.ppid === pid)) throw new Error('no child yet');
    });
    expect(frozen(pid, kind)).toBe(false);
    expect((await send(id, 'pause')).status).toBe(200);
    await eventually(() => expect(frozen(pid, kind)).toBe(true));
    expect((await send(id, 'resume')).status).toBe(200);
    await eventually(() => expect(frozen(pid, kind)).toBe(false));
    expect(readProcess(pid)?.state).not.toBe('T');
  });
});

describe('a paused run whose runner dies', () => {
  it('is handled like any lost run: the runner that comes back runs it again, unpaused', async () => {
    const tag = uniqueTag('frozen');
    const first = await stack.startRunner({ profile: 'procedural', tags: [tag] });
    const id = await stack.postRun({ agent: 'sleeper', parameters: {}, additional_demands: { tags: [tag] } });
    started.push(id);
    await running(id);
    expect((await send(id, 'pause')).status).toBe(200);
    await first.process.stop('SIGKILL');
    await stack.startRunner({ profile: 'procedural', tags: [tag], projectDir: first.projectDir, dataDir: first.dataDir });
    const again = await stack.waitForRun(id, (run) => run.status === 'running' && run.history.some((change) => change.reason?.includes('executor restarted')), testTime(90_000));
    expect(again.history.map((change) => change.status)).toEqual(expect.arrayContaining(['paused', 'running']));
    // Unpaused for real: it can be paused again.
    expect((await send(id, 'pause')).status).toBe(200);
  });
});

describe('stop', () => {
  it('graceful: false kills the run at once, without SIGTERM first', async () => {
    const id = await startScript('sleeper');
    await running(id);
    const stopped = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`, { body: { graceful: false }, token: operator });
    expect(stopped.body.status).toBe('stopped');
    expect(stopped.body.history.find((change) => change.status === 'stopping')?.reason).toContain('now');
    const ended = (await eventsOf(id)).find((event) => event.kind === 'session_ended');
    expect(ended?.data).toMatchObject({ outcome: 'stopped', signal: 'SIGKILL' });
  });
});

describe('a procedural run', () => {
  it('takes input on its terminal, and refuses an interrupt with the reason', async () => {
    const id = await startScript('echo-input');
    const live = await running(id);
    expect(live.live_controls).toEqual({ input: true, steer: true, interrupt: false });
    const interrupted = await send(id, 'interrupt');
    expect(interrupted.status).toBe(409);
    expect(interrupted.body.error).toContain('does not support it');
    const sent = await send(id, 'input', { text: 'hello script' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const run = await stack.waitForRun(id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    // The terminal echoes what was typed, as it would for a person; the script's own line follows.
    expect((run.result as { stdout: string }).stdout).toContain('{"got": "hello script"}');
  });
});

import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import type { RunView } from '../core/contract/http.js';
import { freePort } from '../temporal-config/dev-server.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

let stack: TestStack;

async function events(id: string, baseUrl?: string): Promise<RunEvent[]> {
  const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`, baseUrl ? { baseUrl } : {});
  return body.events;
}

async function eventsUntilEnded(id: string, baseUrl?: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const list = await events(id, baseUrl);
    if (!list.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return list;
  }, testTime(60_000));
}

/** Reads an SSE stream until `count` events arrived; returns them. */
async function readSse(url: string, headers: Record<string, string>, count: number): Promise<RunEvent[]> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: controller.signal });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const received: RunEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (data) received.push(JSON.parse(data.slice(6)) as RunEvent);
    }
    if (received.length >= count) break;
  }
  controller.abort();
  return received;
}

// The same behaviour from both event stores: files under the data dir, and PostgreSQL.
describe.each([
  { store: 'the embedded store', apiEnv: (): NodeJS.ProcessEnv => ({}) },
  { store: 'PostgreSQL', apiEnv: (): NodeJS.ProcessEnv => ({ DATABASE_URL: inject('databaseUrl') }) },
])('run events in $store', ({ apiEnv }) => {
  beforeAll(async () => {
    stack = await TestStack.create({ apiEnv: apiEnv() });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('carries the executor’s terminal output between session_started and session_ended, in order', async () => {
    const tag = uniqueTag('events');
    await stack.startRunner({ tags: [tag] });
    const { body: run } = await stack.api<{ id: string }>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt: 'say it', additional_demands: { tags: [tag] } } });
    const list = await eventsUntilEnded(run.id);
    expect(list.map((event) => event.kind).slice(0, 2)).toEqual(['state_changed', 'session_started']);
    expect(list[0]!.data).toMatchObject({ phase: 'workspace_ready' });
    expect(list.at(-1)!.kind).toBe('session_ended');
    expect(list.at(-1)!.data).toMatchObject({ exit_code: 0, outcome: 'exited' });
    const output = list.filter((event) => event.kind === 'terminal_chunk').map((event) => event.data.text).join('');
    expect(output).toContain(`echo executor: run ${run.id}`);
    expect(output).toContain('"prompt":"say it"');
    expect(list.map((event) => event.id)).toEqual(list.map((_, index) => index + 1));
  });

  it('keeps every line of an executor that prints faster than it is read, each once and in order', async () => {
    const tag = uniqueTag('flood');
    await stack.startRunner({ tags: [tag] });
    const lines = 20_000;
    const { body: run } = await stack.api<{ id: string }>('POST', '/runs?wait=true', { body: { agent: 'echo', parameters: { ticks: lines }, additional_demands: { tags: [tag] } } });
    const list = await eventsUntilEnded(run.id);
    const output = list.filter((event) => event.kind === 'terminal_chunk').map((event) => event.data.text).join('');
    const ticks = [...output.matchAll(/^tick (\d+) \d+$/gm)].map((match) => Number(match[1]));
    expect(ticks).toEqual(Array.from({ length: lines }, (_, index) => index));
    // The answer comes after the last tick: nothing was cut off at exit.
    expect(output.slice(output.lastIndexOf('tick '))).toContain('"status":"completed"');
  });

  it('streams events live over SSE and replays from Last-Event-ID on reconnect', async () => {
    const tag = uniqueTag('sse');
    await stack.startRunner({ tags: [tag] });
    // Held until the first events were read, so they came live, not as a replay of a finished run.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    const headers = { authorization: `Bearer ${stack.token}` };
    const live = await readSse(`${stack.apiUrl}/runs/${id}/events`, headers, 3);
    expect(live.map((event) => event.kind)).toEqual(['state_changed', 'session_started', 'terminal_chunk']);
    expect(isFinalRunStatus((await stack.api<RunView>('GET', `/runs/${id}`)).body.status)).toBe(false);
    await held.open();
    const all = await eventsUntilEnded(id);
    const replay = await readSse(`${stack.apiUrl}/runs/${id}/events`, { ...headers, 'last-event-id': String(live[2]!.id) }, all.length - 3);
    expect(replay.map((event) => event.id)).toEqual(all.slice(3).map((event) => event.id));
  });

  it('spools events while the API is down and delivers them later, in order, once', async () => {
    const tag = uniqueTag('spool');
    const port = await freePort();
    const eventsApi = await stack.startApi({ AO_API_PORT: String(port) });
    await stack.startRunner({ tags: [tag], extraArgs: ['--api-url', eventsApi] });
    const apiProcess = stack.processes.at(-2)!;
    await apiProcess.stop('SIGKILL');

    const { body: run } = await stack.api<{ id: string; status: string }>('POST', '/runs?wait=true', { body: { agent: 'echo', additional_demands: { tags: [tag] } } });
    expect(run.status).toBe('completed');
    await stack.startApi({ AO_API_PORT: String(port) });
    const delivered = await eventsUntilEnded(run.id, eventsApi);
    const keys = delivered.map((event) => `${event.source}#${event.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(delivered.map((event) => event.seq)).toEqual([...delivered.map((event) => event.seq)].sort((a, b) => a - b));
    expect(delivered.map((event) => event.kind)).toContain('session_started');
    expect(delivered.at(-1)!.kind).toBe('session_ended');
  });

  it('redacts secrets from the environment out of events', async () => {
    const tag = uniqueTag('secret');
    const secret = `sk-${crypto.randomBytes(12).toString('hex')}`;
    await stack.startRunner({ tags: [tag], env: { VENDOR_API_KEY: secret } });
    const { body: run } = await stack.api<{ id: string }>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt: `my key is ${secret}`, additional_demands: { tags: [tag] } } });
    const text = JSON.stringify(await eventsUntilEnded(run.id));
    expect(text).not.toContain(secret);
    expect(text).toContain('my key is [redacted]');
  });
});

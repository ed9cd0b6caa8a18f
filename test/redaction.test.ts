import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import { runWorkflowId } from '../workflows/messages.js';
import { keyShapes } from './support/key-shapes.js';
import type { TestProcess } from './support/process.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

/**
 * A hostile script: prints each value it is given in two writes with a pause between (on stdout
 * and on stderr), so no single chunk holds a whole secret; with --fail it then exits 3.
 */
const LEAK_SCRIPT = `#!/usr/bin/env node
const args = process.argv.slice(2);
const { pairs } = JSON.parse(args[args.indexOf('--leak') + 1]);
const pause = () => new Promise((resolve) => setTimeout(resolve, 150));
for (const [first, second] of pairs) {
  process.stdout.write('value: ' + first);
  await pause();
  process.stdout.write(second + ' end\\n');
  process.stderr.write('value: ' + first);
  await pause();
  process.stderr.write(second + ' end\\n');
}
process.exit(args.includes('--fail') ? 3 : 0);
`;

let stack: TestStack;
let tag: string;
let runner: { process: TestProcess; runnerId: string };
/** Known to the runner only through its environment, as a vendor key would be. */
const envSecret = `vendor-${crypto.randomBytes(12).toString('hex')}`;
const shapes = keyShapes();
const secrets = [envSecret, ...Object.values(shapes)];

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('leak');
  await stack.addScriptAgent({
    name: 'leak',
    script_file: 'leak.mjs',
    script_content: LEAK_SCRIPT,
    parameters_schema: { type: 'object', properties: { leak: { type: 'object' }, fail: { type: 'boolean' } }, required: ['leak'] },
  });
  runner = await stack.startRunner({ profile: 'procedural', tags: [tag], env: { VENDOR_API_KEY: envSecret } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Each secret cut in two: no parameter holds a whole one. */
const halves = (value: string): [string, string] => [value.slice(0, Math.floor(value.length / 2)), value.slice(Math.floor(value.length / 2))];

/** The secrets (raw or JSON-escaped) found in `text`. */
const leaked = (text: string): string[] => secrets.filter((secret) => text.includes(secret) || text.includes(JSON.stringify(secret).slice(1, -1)));

async function eventsOf(id: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('the run’s events have not all arrived');
    return body.events;
  });
}

/** The run's whole workflow history as the Temporal server stores it, payloads as text. */
async function rawHistory(id: string): Promise<string> {
  const history = await stack.client.workflow.getHandle(runWorkflowId(id)).fetchHistory();
  return JSON.stringify(history, (key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
  );
}

async function leakRun(fail: boolean): Promise<{ run: RunView; events: RunEvent[] }> {
  const parameters = { leak: { pairs: secrets.map(halves) }, ...(fail ? { fail: true } : {}) };
  const run = await stack.waitForRun(await stack.postRun({ agent: 'leak', parameters, additional_demands: { tags: [tag] } }), undefined, testTime(90_000));
  return { run, events: await eventsOf(run.id) };
}

describe('a script that prints secrets split across writes', () => {
  it('shows none of them in its events, its result or the stored history, and still shows the rest of its output', async () => {
    const { run, events } = await leakRun(false);
    expect(run.status).toBe('completed');
    for (const stream of ['stdout', 'stderr']) {
      const terminal = events.filter((event) => event.kind === 'terminal_chunk' && event.data.stream === stream).map((event) => String(event.data.text)).join('');
      expect(leaked(terminal)).toEqual([]);
      // Every line still shows, with the secret in it redacted.
      expect(terminal.match(/^value: (Bearer )?\[redacted\] end\r?$/gm)).toHaveLength(secrets.length);
    }
    expect(leaked(JSON.stringify(events))).toEqual([]);
    expect(leaked(JSON.stringify(run.result))).toEqual([]);
    expect(JSON.stringify(run.result)).toContain('[redacted]');
    expect(leaked(await rawHistory(run.id))).toEqual([]);
  });

  it('shows none of them in the error, its stderr tail, the Temporal failure or the runner’s own output when it fails', async () => {
    const { run, events } = await leakRun(true);
    expect(run.status).toBe('failed');
    expect(run.error?.type).toBe('EXECUTOR_FAILED');
    expect(run.error?.message).toMatch(/exited with code 3: .*\[redacted\]/s);
    expect(leaked(JSON.stringify(run))).toEqual([]);
    expect(leaked(JSON.stringify(events))).toEqual([]);
    const history = await rawHistory(run.id);
    // The activity's failure (message and details with the stderr tail) is in the history.
    expect(history).toContain('stderr_tail');
    expect(leaked(history)).toEqual([]);
    await runner.process.waitFor(new RegExp(`failed.* ${run.id} after`));
    // Every field of its JSON log lines, not only their messages.
    expect(leaked(runner.process.rawOutput)).toEqual([]);
  });
});

describe('an echo executor asked to repeat secrets', () => {
  it('returns its result with every key shape redacted (the pipes path)', async () => {
    const echoTag = uniqueTag('echo-leak');
    await stack.startRunner({ tags: [echoTag] });
    const prompt = Object.values(shapes).join(' | ');
    const run = await stack.waitForRun(await stack.postRun({ agent: 'echo', prompt, additional_demands: { tags: [echoTag] } }));
    expect(run.status).toBe('completed');
    expect(leaked(JSON.stringify(run.result))).toEqual([]);
    expect(leaked(JSON.stringify(await eventsOf(run.id)))).toEqual([]);
  });
});

import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH, type RunEventInput } from '../core/contract/events.js';
import type { ErrorBody } from '../core/contract/http.js';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from '../api/json-body.js';
import { TestStack } from './support/stack.js';

// Hostile input, as a fuzzer sent it: every answer is a 4xx with a reason, never a 5xx.
let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

/**
 * Sends raw bytes with the given headers and a token (a runner's for the runners' route, else the admin's);
 * returns the status and the error body.
 */
async function send(method: string, route: string, body: Buffer | string | undefined, headers: Record<string, string> = {}) {
  const token = route === '/internal/events' ? stack.runnerToken : stack.token;
  const response = await fetch(`${stack.apiUrl}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...headers }, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as ErrorBody };
}

const json = { 'content-type': 'application/json' };
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const event = (overrides: Partial<RunEventInput> = {}): RunEventInput => ({
  run_id: crypto.randomUUID(),
  source: 'edges/1',
  seq: 0,
  kind: 'terminal_chunk',
  at: new Date().toISOString(),
  data: { text: 'hi' },
  ...overrides,
});

describe('when a path parameter is not valid percent-encoding', () => {
  it.each(['/runs/%ff', '/runs/%ff/events', '/runs/%E0%A4%A/stop', '/agents/%ff', '/scripts/%c3%28/download', '/sessions/%'])('answers 400 for %s', async (route) => {
    const method = route.endsWith('/stop') ? 'POST' : 'GET';
    const { status, body } = await send(method, route, undefined);
    expect(status).toBe(400);
    expect(body.error).toMatch(/percent-encoded/);
  });
});

describe('when the body parser refuses the body', () => {
  it('answers 413 naming the limit for a body over it', async () => {
    const big = JSON.stringify({ agent: 'echo', prompt: 'x'.repeat(MAX_BODY_BYTES) });
    const { status, body } = await send('POST', '/runs', big, json);
    expect(status).toBe(413);
    expect(body.details).toEqual({ limit: MAX_BODY_BYTES });
  });

  it.each(['latin1', 'utf-99', 'klingon'])('answers 415 for the charset %s', async (charset) => {
    const { status, body } = await send('POST', '/runs', '{"agent":"echo"}', { 'content-type': `application/json; charset=${charset}` });
    expect(status).toBe(415);
    expect(body.error).toMatch(/unsupported charset/);
  });

  it('answers 415 for a Content-Encoding it does not know', async () => {
    const { status, body } = await send('POST', '/runs', '{"agent":"echo"}', { ...json, 'content-encoding': 'compress' });
    expect(status).toBe(415);
    expect(body.error).toMatch(/content encoding/);
  });

  it('answers 400 for a body labelled gzip that is not', async () => {
    const { status, body } = await send('POST', '/runs', '{"agent":"echo"}', { ...json, 'content-encoding': 'gzip' });
    expect(status).toBe(400);
    expect(body.error).toMatch(/Content-Encoding/);
  });

  it('answers 400 for a gzip body cut short', async () => {
    const gzipped = zlib.gzipSync(JSON.stringify({ agent: 'echo', prompt: crypto.randomBytes(4000).toString('hex') }));
    const { status } = await send('POST', '/runs', gzipped.subarray(0, gzipped.length / 2), { ...json, 'content-encoding': 'gzip' });
    expect(status).toBe(400);
  });

  it('reads a body that really is gzip', async () => {
    const { status, body } = await send('POST', '/runs', zlib.gzipSync('{"agent":"no-such-agent"}'), { ...json, 'content-encoding': 'gzip' });
    expect(status).toBe(404);
    expect(body.error).toMatch(/no-such-agent/);
  });

  it('answers 415 for a body that is not labelled JSON', async () => {
    const { status, body } = await send('POST', '/runs', '{"agent":"echo"}', { 'content-type': 'text/plain' });
    expect(status).toBe(415);
    expect(body.error).toMatch(/Content-Type: application\/json/);
  });

  it('answers 400 for JSON that is not JSON', async () => {
    const { status, body } = await send('POST', '/internal/events', '{"events": [', json);
    expect(status).toBe(400);
    expect(body.error).toMatch(/malformed JSON/);
  });
});

describe('when a body nests deeper than the limit', () => {
  it.each(['/runs', '/internal/events', '/agents', '/scripts'])('answers 400 naming the limit for 20,000-deep JSON to %s', async (route) => {
    const { status, body } = await send('POST', route, nested(20_000), json);
    expect(status).toBe(400);
    expect(body.error).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
    expect(body.details).toMatchObject({ limit: MAX_JSON_DEPTH });
  });

  it('answers 400 for an event whose data is one level too deep, and says where', async () => {
    // The body, the events array and the event take three levels; data and what it holds the rest.
    let data: unknown = {};
    for (let depth = 3; depth < MAX_JSON_DEPTH; depth++) data = { a: data };
    const { status, body } = await send('POST', '/internal/events', JSON.stringify({ events: [event({ data: data as Record<string, unknown> })] }), json);
    expect(status).toBe(400);
    expect(String(body.details?.path)).toMatch(/^events\.0\.data\.a\.a/);
  });

  it('takes a body exactly at the limit', async () => {
    let data: unknown = {};
    for (let depth = 4; depth < MAX_JSON_DEPTH; depth++) data = { a: data };
    // A terminal chunk has its text; the depth is in what else it holds.
    const deep = { text: 'deep', ...(data as Record<string, unknown>) };
    const { status } = await send('POST', '/internal/events', JSON.stringify({ events: [event({ run_id: await stack.assignedRun(), data: deep })] }), json);
    expect(status).toBe(200);
  });
});

describe('when a batch of events breaks the limits', () => {
  it('answers 413 for more events than a batch may carry', async () => {
    const runId = crypto.randomUUID();
    const events = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, (_, seq) => event({ run_id: runId, seq }));
    const { status, body } = await send('POST', '/internal/events', JSON.stringify({ events }), json);
    expect(status).toBe(413);
    expect(body.details).toEqual({ limit: MAX_EVENTS_PER_BATCH, events: MAX_EVENTS_PER_BATCH + 1 });
    const { body: stored } = await stack.api<{ events: unknown[] }>('GET', `/runs/${runId}/events`);
    expect(stored.events).toEqual([]);
  });

  it('answers 413 naming the event larger than an event may be, and stores none of the batch', async () => {
    const runId = crypto.randomUUID();
    const events = [event({ run_id: runId, seq: 0 }), event({ run_id: runId, seq: 1, data: { text: 'x'.repeat(MAX_EVENT_BYTES) } })];
    const { status, body } = await send('POST', '/internal/events', JSON.stringify({ events }), json);
    expect(status).toBe(413);
    expect(body.details).toMatchObject({ limit: MAX_EVENT_BYTES, index: 1 });
    const { body: stored } = await stack.api<{ events: unknown[] }>('GET', `/runs/${runId}/events`);
    expect(stored.events).toEqual([]);
  });

  it.each([
    ['a seq beyond 32 bits', { seq: 2 ** 31 }],
    ['a time that is no date', { at: 'yesterday' }],
    ['a time in year 0', { at: '0000-01-01T00:00:00Z' }],
    ['a source with a NUL', { source: 'runner\u0000/1' }],
  ])('answers 400 for %s', async (_what, overrides) => {
    const { status, body } = await send('POST', '/internal/events', JSON.stringify({ events: [event(overrides)] }), json);
    expect(status).toBe(400);
    expect(body.details?.problems).toEqual([expect.stringMatching(/^events\.0\./)]);
  });
});

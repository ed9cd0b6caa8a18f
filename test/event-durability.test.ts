import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EventSpool } from '../activities/events/event-spool.js';
import { resolveApiToken } from '../api/auth.js';
import { CredentialStore, localRunnerToken } from '../api/credentials.js';
import { POSTGRES_APPLICATION_NAME } from '../api/postgres-event-store.js';
import { MAX_JSON_DEPTH } from '../api/json-body.js';
import { MAX_EVENT_BYTES, type RunEvent, type RunEventInput } from '../core/contract/events.js';
import { Redactor } from '../core/contract/secrets.js';
import { createDatabase } from './support/postgres.js';
import { SmallDisk } from './support/tmpfs.js';
import type { TestProcess } from './support/process.js';
import { TestStack, eventually } from './support/stack.js';

let stack: TestStack;
/** The name of the stack's runner credential, which every posted event is filed under. */
const RUNNER_CREDENTIAL = 'test-runners';

beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

/** A batch of `count` events of one run, each about `bytes` long. */
function batch(runId: string, count: number, bytes = 200, firstSeq = 0): RunEventInput[] {
  return Array.from({ length: count }, (_, index) => ({
    run_id: runId,
    source: 'durability/1',
    seq: firstSeq + index,
    kind: 'terminal_chunk' as const,
    at: new Date().toISOString(),
    data: { stream: 'stdout', text: `${firstSeq + index}:`.padEnd(bytes, 'x') },
  }));
}

/** Posts a batch as the stack's runners do (their runner token, unless another API's own is given). */
async function post(apiUrl: string, events: RunEventInput[], token = stack.runnerToken): Promise<{ status: number; stored?: number }> {
  const response = await fetch(`${apiUrl}/internal/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  const body = (await response.json()) as { stored?: number };
  return { status: response.status, stored: body.stored };
}

/**
 * The events of `runId` this test posted under `source`: the API files them under the runner
 * credential's name, beside the events the run's own runner sent.
 */
async function stored(apiUrl: string, runId: string, source = 'durability/1'): Promise<RunEvent[]> {
  const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${runId}/events?limit=5000`, { baseUrl: apiUrl });
  return body.events.filter((event) => event.source === `${RUNNER_CREDENTIAL}/${source}`);
}

const modeOf = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('the embedded event store on a disk that fills up', () => {
  let disk: SmallDisk | undefined;
  let apiUrl: string;
  let api: TestProcess;

  let token: string;

  beforeAll(async () => {
    disk = await SmallDisk.mount(256 * 1024);
    apiUrl = await stack.startApi({ AO_DATA_DIR: disk.dir });
    api = stack.processes.at(-1)!;
    // This API keeps its credentials in its own data dir: the runners' credential, under the same name.
    token = localRunnerToken(CredentialStore.inDataDir(disk.dir, stack.token), path.join(stack.root, 'disk-runner-token'), RUNNER_CREDENTIAL);
  });
  afterAll(async () => {
    // The API must let go of the disk before it can be unmounted.
    await api?.stop();
    await disk?.unmount();
  });

  it('stores nothing of a batch it could not write, and all of it when the same batch is sent again', async () => {
    const runId = await stack.assignedRun();
    const first = batch(runId, 1);
    expect(await post(apiUrl, first, token)).toEqual({ status: 200, stored: 1 });

    await disk!.fill();
    // More than the free end of the file's last page: the write starts, then the disk refuses it.
    const second = batch(runId, 60, 1000, 1);
    expect((await post(apiUrl, second, token)).status).toBe(500);
    expect(api.output).toMatch(/ENOSPC/);
    expect((await stored(apiUrl, runId)).map((event) => event.seq)).toEqual([0]);

    await disk!.free();
    expect(await post(apiUrl, second, token)).toEqual({ status: 200, stored: 60 });
    expect(await post(apiUrl, second, token)).toEqual({ status: 200, stored: 0 });
    const events = await stored(apiUrl, runId);
    expect(events.map((event) => event.seq)).toEqual([...first, ...second].map((event) => event.seq));
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1));
    // The file holds whole lines only: nothing of the refused write is left in it.
    const lines = (await fs.readFile(path.join(disk!.dir, 'events', `${runId}.jsonl`), 'utf8')).split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((line) => (JSON.parse(line) as RunEvent).seq)).toEqual(events.map((event) => event.seq));
  });

  it('keeps a runner’s spooled events while the API answers 5xx, and delivers them once it can store them', async () => {
    const runId = await stack.assignedRun();
    const logs: string[] = [];
    const spool = new EventSpool({
      spoolFile: path.join(stack.root, `spool-${runId}`, 'runner.jsonl'),
      apiUrl,
      apiToken: token,
      instanceId: 'spool-5xx',
      redactor: new Redactor([]),
      log: (line) => logs.push(line),
    });
    for (let index = 0; index < 40; index++) spool.emit(runId, 1, 'terminal_chunk', { stream: 'stdout', text: `${index}`.padEnd(2000, '.') });

    await disk!.fill();
    await spool.flush();
    expect(logs.join('\n')).toMatch(/API answered 500/);
    expect(await stored(apiUrl, runId, 'spool-5xx/1')).toEqual([]);
    await spool.flush();
    expect(await stored(apiUrl, runId, 'spool-5xx/1')).toEqual([]);

    await disk!.free();
    await spool.flush();
    expect((await stored(apiUrl, runId, 'spool-5xx/1')).map((event) => event.seq)).toEqual(Array.from({ length: 40 }, (_, index) => index));
  });
});

describe('the PostgreSQL event store while the database refuses writes', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  let admin: pg.Client;
  let apiUrl: string;
  let api: TestProcess;
  const name = `ao_durability_${crypto.randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    // A database of its own: read-only is set database-wide, and other test files share the server.
    database = await createDatabase(inject('databaseUrl'), name);
    admin = new pg.Client({ connectionString: database.url, application_name: 'ao-test-admin' });
    await admin.connect();
    apiUrl = await stack.startApi({ DATABASE_URL: database.url });
    api = stack.processes.at(-1)!;
  });
  afterAll(async () => {
    await api?.stop();
    await admin?.end();
    await database?.drop();
  });

  /** Ends the API's pooled connections, so its next ones start with the database's current settings. */
  async function reconnectApi(): Promise<void> {
    const apiConnections = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2";
    await admin.query(`SELECT pg_terminate_backend(pid) FROM (${apiConnections}) api`, [name, POSTGRES_APPLICATION_NAME]);
    await eventually(async () => {
      const { rowCount } = await admin.query(apiConnections, [name, POSTGRES_APPLICATION_NAME]);
      if (rowCount) throw new Error(`${rowCount} API connections still open`);
    });
  }

  it('stores nothing of a batch the database refused, and all of it when the same batch is sent again', async () => {
    const runId = await stack.assignedRun();
    const first = batch(runId, 3);
    expect(await post(apiUrl, first)).toEqual({ status: 200, stored: 3 });

    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = on`);
    await reconnectApi();
    // A second run in the same batch: the batch is one transaction, so neither run keeps any of it.
    const otherRun = await stack.assignedRun();
    const second = [...batch(runId, 5, 200, 3), ...batch(otherRun, 2)];
    expect((await post(apiUrl, second)).status).toBe(500);
    expect((await post(apiUrl, second)).status).toBe(500);
    await api.waitFor(/read-only transaction/);
    expect((await stored(apiUrl, runId)).map((event) => event.seq)).toEqual([0, 1, 2]);
    expect(await stored(apiUrl, otherRun)).toEqual([]);

    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} RESET default_transaction_read_only`);
    await reconnectApi();
    // A connection the API had not yet seen closed may fail the first try: the runner retries the same way.
    const retried = await eventually(async () => {
      const answer = await post(apiUrl, second);
      if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
      return answer;
    });
    expect(retried.stored).toBe(7);
    expect(await post(apiUrl, second)).toEqual({ status: 200, stored: 0 });
    const events = await stored(apiUrl, runId);
    expect(events.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(events.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await stored(apiUrl, otherRun)).map((event) => event.seq)).toEqual([0, 1]);
  });

  it('keeps an event whose data holds a NUL or a lone surrogate, with U+FFFD in their place', async () => {
    const runId = await stack.assignedRun();
    const [event] = batch(runId, 1);
    const odd = { ...event!, data: { text: 'a\u0000b', ['key\ud800']: 'c\udc00d', nested: ['\u0000'] } };
    expect(await post(apiUrl, [odd])).toEqual({ status: 200, stored: 1 });
    expect((await stored(apiUrl, runId))[0]!.data).toEqual({ text: 'a\ufffdb', ['key\ufffd']: 'c\ufffdd', nested: ['\ufffd'] });
  });
});

describe('the runner’s spool when the API refuses an event', () => {
  it('replaces the refused event by an alert saying why, delivers the rest in order, and truncates an event too large to send', async () => {
    const runId = await stack.assignedRun();
    const logs: string[] = [];
    const spoolDir = path.join(stack.root, `spool-${runId}`);
    const spool = new EventSpool({ spoolFile: path.join(spoolDir, 'runner.jsonl'), apiUrl: stack.apiUrl, apiToken: stack.runnerToken, instanceId: 'spool-refused', redactor: new Redactor([]), log: (line) => logs.push(line) });
    let deep: Record<string, unknown> = {};
    for (let depth = 0; depth < MAX_JSON_DEPTH; depth++) deep = { a: deep };
    spool.emit(runId, 1, 'terminal_chunk', { text: 'before' });
    spool.emit(runId, 1, 'tool_result', deep);
    spool.emit(runId, 1, 'terminal_chunk', { text: 'after' });
    spool.emit(runId, 1, 'terminal_chunk', { text: 'x'.repeat(MAX_EVENT_BYTES) });
    spool.emit(runId, 1, 'session_ended', { exit_code: 0 });
    await spool.flush();

    const events = await stored(stack.apiUrl, runId, 'spool-refused/1');
    expect(events.map((event) => [event.seq, event.kind])).toEqual([
      [0, 'terminal_chunk'],
      [1, 'alert'],
      [2, 'terminal_chunk'],
      [3, 'terminal_chunk'],
      [4, 'session_ended'],
    ]);
    expect(events[1]!.data).toMatchObject({ refused_kind: 'tool_result', refused_status: 400 });
    expect(String(events[1]!.data.message)).toMatch(/deeper than \d+ levels/);
    expect(events[3]!.data).toMatchObject({ truncated: { limit: MAX_EVENT_BYTES } });
    expect(logs.join('\n')).toMatch(/refused event tool_result #1/);
    expect(logs.join('\n')).toMatch(/event terminal_chunk #3 .* truncated/);
    // Run output waits in the spool: its owner's only.
    expect(await modeOf(spoolDir)).toBe(0o700);
    expect(await modeOf(path.join(spoolDir, 'runner.jsonl'))).toBe(0o600);
  });
});

describe('file modes', () => {
  it('keeps the API’s data dir, its events folder and event files readable by their owner only', async () => {
    const runId = await stack.assignedRun();
    expect(await post(stack.apiUrl, batch(runId, 1))).toEqual({ status: 200, stored: 1 });
    const dataDir = path.join(stack.root, 'data');
    expect(await modeOf(dataDir)).toBe(0o700);
    expect(await modeOf(path.join(dataDir, 'events'))).toBe(0o700);
    expect(await modeOf(path.join(dataDir, 'events', `${runId}.jsonl`))).toBe(0o600);
  });

  it('writes the token file 0600 in a 0700 data dir, and narrows one an older version left readable', async () => {
    const dataDir = path.join(stack.root, 'token-test', 'data');
    const token = resolveApiToken(undefined, dataDir);
    expect(await modeOf(dataDir)).toBe(0o700);
    expect(await modeOf(path.join(dataDir, 'api-token'))).toBe(0o600);
    await fs.chmod(path.join(dataDir, 'api-token'), 0o644);
    expect(resolveApiToken(undefined, dataDir)).toBe(token);
    expect(await modeOf(path.join(dataDir, 'api-token'))).toBe(0o600);
  });
});

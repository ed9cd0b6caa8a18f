import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerView } from '../api/fleet-service.js';
import type { FleetOverview } from '../core/contract/fleet-overview.js';
import type { RunList } from '../core/contract/http.js';
import type { AuditEntry, CreatedToken } from '../core/contract/identity.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

let stack: TestStack;
let viewerToken: string;

beforeAll(async () => {
  stack = await TestStack.create();
  const { status, body } = await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'fleet-viewer', role: 'viewer' } });
  expect(status).toBe(201);
  viewerToken = body.token;
});
afterAll(async () => {
  await stack?.stop();
});

async function runners(query = '', baseUrl?: string): Promise<RunnerView[]> {
  const { status, body } = await stack.api<{ runners: RunnerView[] }>('GET', `/runners${query}`, baseUrl ? { baseUrl } : {});
  expect(status).toBe(200);
  return body.runners;
}

/** Waits until the runner is listed (with `?all=true`) in this status, and returns its view. */
async function runnerIn(runnerId: string, status: RunnerView['status']): Promise<RunnerView> {
  return eventually(async () => {
    const found = (await runners('?all=true')).find((runner) => runner.runner_id === runnerId);
    if (found?.status !== status) throw new Error(`runner ${runnerId} is ${found?.status ?? 'not listed'}, not ${status}`);
    return found;
  });
}

async function overview(): Promise<FleetOverview> {
  const { status, body } = await stack.api<FleetOverview>('GET', '/fleet/overview', { token: viewerToken });
  expect(status).toBe(200);
  return body;
}

// First in the file: the namespace holds only this test's runs and runner, so every figure is known.
describe('the fleet overview', () => {
  it('counts runs by status, slots used and free, and pending runs per demanded tags', async () => {
    const [here, nowhere, elsewhere] = [uniqueTag('here'), uniqueTag('nowhere'), uniqueTag('elsewhere')];
    await stack.startRunner({ tags: [here], capacity: 2 });
    for (const id of [await stack.postRun({ agent: 'echo', additional_demands: { tags: [here] } }), await stack.postRun({ agent: 'echo', additional_demands: { tags: [here] } })]) {
      expect((await stack.waitForRun(id)).status).toBe('completed');
    }
    const holding = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: 600_000 }, additional_demands: { tags: [here] } });
    await stack.waitForRun(holding, (run) => run.status === 'running');
    const waiting = [
      ...(await Promise.all([1, 2, 3].map(() => stack.postRun({ agent: 'echo', additional_demands: { tags: [nowhere] } })))),
      await stack.postRun({ agent: 'echo', additional_demands: { tags: [nowhere, elsewhere] } }),
    ];
    for (const id of waiting) await stack.waitForRun(id, (run) => run.pending_reason !== undefined);

    const figures = await eventually(async () => {
      const current = await overview();
      if (current.waiting.reduce((sum, group) => sum + group.runs, 0) !== 4) throw new Error(`waiting: ${JSON.stringify(current.waiting)}`);
      return current;
    });
    expect(figures.runs_by_status).toEqual({ pending: 4, dispatched: 0, running: 1, waiting_for_approval: 0, paused: 0, stopping: 0, completed: 2, failed: 0, stopped: 0 });
    expect(figures.runners_by_status).toEqual({ online: 1, draining: 0, unhealthy: 0, offline: 0 });
    expect(figures.slots).toEqual({ capacity: 2, used: 1, free: 1 });
    expect(figures.waiting.map(({ tags, runs }) => ({ tags, runs }))).toEqual([
      { tags: [nowhere], runs: 3 },
      { tags: [nowhere, elsewhere].sort(), runs: 1 },
    ]);
    expect(figures.waiting_truncated).toBe(false);
    for (const id of [holding, ...waiting]) expect((await stack.api('POST', `/runs/${id}/stop`)).status).toBe(202);
  });
});

describe('the runs list', () => {
  it('pages through more runs than one page holds, each run once', async () => {
    const tag = uniqueTag('paged');
    const ids = await Promise.all(Array.from({ length: 7 }, () => stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } })));
    // Tags reach visibility once each run has resolved its demands.
    await eventually(async () => {
      const { body } = await stack.api<RunList>('GET', `/runs?tag=${tag}&limit=50`);
      if (body.runs.length !== ids.length) throw new Error(`${body.runs.length} of ${ids.length} runs listed`);
    });
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    do {
      const { status, body } = await stack.api<RunList>('GET', `/runs?tag=${tag}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(status).toBe(200);
      seen.push(...body.runs.map((run) => run.id));
      pageSizes.push(body.runs.length);
      cursor = body.next_cursor;
    } while (cursor);
    expect(pageSizes.slice(0, 3)).toEqual([3, 3, 1]);
    expect(seen.sort()).toEqual([...ids].sort());
    for (const id of ids) await stack.api('POST', `/runs/${id}/stop`);
  });

  it('refuses a cursor it did not give out with a 400 and the reason', async () => {
    const malformed = await stack.api<{ error: string }>('GET', '/runs?cursor=not%20a%20token');
    expect(malformed.status).toBe(400);
    const unknown = await stack.api<{ error: string }>('GET', `/runs?cursor=${Buffer.from('garbage').toString('base64url')}`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('cursor');
  });
});

describe('forgetting a runner', () => {
  it('refuses an online runner (409), a viewer (403) and an unknown id (404), then forgets it once offline; it can register again', async () => {
    const { process: runner, runnerId, projectDir, dataDir } = await stack.startRunner({ tags: [uniqueTag('forget')] });
    await runnerIn(runnerId, 'online');
    const online = await stack.api<{ error: string }>('DELETE', `/runners/${runnerId}`);
    expect(online.status).toBe(409);
    expect(online.body.error).toContain('runner is online');
    expect((await stack.api('DELETE', `/runners/${runnerId}`, { token: viewerToken })).status).toBe(403);
    expect((await stack.api('DELETE', '/runners/no-such-runner')).status).toBe(404);

    // The script every runner gets at registration, installed before the runner goes.
    await eventually(async () => {
      if (!(await runnerIn(runnerId, 'online')).scripts['file-stats']) throw new Error('file-stats not installed yet');
    });
    await runner.stop();
    const offline = await runnerIn(runnerId, 'offline');
    // An offline runner still shows when it was last heard from.
    expect(offline.last_heartbeat_at).toBeDefined();
    expect(Date.parse(offline.last_heartbeat_at!)).toBeLessThanOrEqual(Date.parse(offline.since) + 1000);

    expect((await stack.api('DELETE', `/runners/${runnerId}`)).status).toBe(204);
    await eventually(async () => {
      if ((await runners('?all=true')).some((listed) => listed.runner_id === runnerId)) throw new Error('the forgotten runner is still listed');
    });
    expect((await stack.api('DELETE', `/runners/${runnerId}`)).status).toBe(404);
    const { body: audit } = await stack.api<{ entries: AuditEntry[] }>('GET', '/audit?limit=1000');
    const forgets = audit.entries.filter((entry) => entry.action === 'runner.forget');
    // The stack's bootstrap token is the admin named `admin`.
    expect(forgets.map(({ target, actor }) => ({ target, actor }))).toEqual([{ target: runnerId, actor: 'admin' }]);

    // Back with the same identity: a new registration, whose scripts (read from its disk) show when they were installed.
    await stack.startRunner({ projectDir, dataDir, tags: [uniqueTag('back')] });
    const back = await eventually(async () => {
      const view = await runnerIn(runnerId, 'online');
      if (!view.scripts['file-stats']) throw new Error('file-stats not reconciled yet');
      return view;
    });
    expect(new Date(back.scripts['file-stats']!.installed_at).getUTCFullYear()).toBeGreaterThanOrEqual(2024);
  });

  it('refuses to forget an offline runner that still holds a run, naming the run', async () => {
    const tag = uniqueTag('holding');
    const { process: runner, runnerId } = await stack.startRunner({ tags: [tag] });
    const id = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: 600_000 }, additional_demands: { tags: [tag] } });
    await stack.waitForRun(id, (run) => run.status === 'running');
    await runner.stop('SIGKILL');
    // The run keeps its slot while it waits for its runner to come back (the dispatch timeout, 30 s).
    const offline = await runnerIn(runnerId, 'offline');
    expect(offline.active_runs).toEqual([id]);
    const refused = await stack.api<{ error: string }>('DELETE', `/runners/${runnerId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain(`still holds 1 run(s) (${id})`);
    expect((await stack.api('POST', `/runs/${id}/stop`)).status).toBe(202);
  });

  it('shows when a runner that died was last heard from', async () => {
    const { process: runner, runnerId } = await stack.startRunner({ tags: [uniqueTag('killed')] });
    await eventually(async () => {
      if (!(await runnerIn(runnerId, 'online')).last_heartbeat_at) throw new Error('no heartbeat yet');
    });
    await runner.stop('SIGKILL');
    const offline = await runnerIn(runnerId, 'offline');
    expect(offline.offline_reason).toContain('stopped heartbeating');
    expect(offline.last_heartbeat_at).toBeDefined();
    expect(Date.parse(offline.last_heartbeat_at!)).toBeLessThan(Date.parse(offline.since));
  });
});

describe('offline runners dropping off', () => {
  it('leaves a runner offline for longer than AO_RUNNER_FORGET_AFTER_SECONDS out of the list, unless all=true', async () => {
    const dropping = await stack.startApi({ AO_RUNNER_FORGET_AFTER_SECONDS: '1' });
    const { process: runner, runnerId } = await stack.startRunner({ tags: [uniqueTag('drop')] });
    expect((await runners('', dropping)).map((listed) => listed.runner_id)).toContain(runnerId);
    await runner.stop();
    await runnerIn(runnerId, 'offline');
    await eventually(async () => {
      if ((await runners('', dropping)).some((listed) => listed.runner_id === runnerId)) throw new Error('still listed');
    });
    expect((await runners('?all=true', dropping)).find((listed) => listed.runner_id === runnerId)?.status).toBe('offline');
    // The default API keeps offline runners for a day.
    expect((await runners()).find((listed) => listed.runner_id === runnerId)?.status).toBe('offline');
  });
});

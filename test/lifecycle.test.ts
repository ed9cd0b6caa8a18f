import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupIsAlive } from '../activities/containment/run-container.js';
import type { RunView } from '../core/contract/http.js';
import { runWorkflowId } from '../workflows/messages.js';
import { runGate } from './support/gates.js';
import { TestStack, uniqueTag } from './support/stack.js';
import { testSeconds, testTime } from './support/time.js';

let stack: TestStack;
const apiEnv = { AO_DISPATCH_TIMEOUT_SECONDS: testSeconds(3) };

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv });
});
afterAll(async () => {
  await stack?.stop();
});

const executorPid = (run: RunView): number => Number(/executor started \(pid (\d+)\)/.exec(run.history.map((change) => change.reason).join('\n'))![1]);
const statuses = (run: RunView): string[] => run.history.map((change) => change.status);
const restarts = (run: RunView): string[] => run.history.map((change) => change.reason ?? '').filter((reason) => reason.startsWith('executor restarted'));

describe('stopping a run', () => {
  it('ends the executor’s whole process group, grandchildren included, before the run is stopped', async () => {
    const tag = uniqueTag('stop');
    await stack.startRunner({ tags: [tag] });
    // Held by a gate that never opens: only the stop can end it.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: { ...held.parameters, spawn_grandchild: true }, additional_demands: { tags: [tag] } });
    const running = await stack.waitForRun(id, (run) => run.status === 'running');
    const pgid = executorPid(running);
    expect(groupIsAlive(pgid)).toBe(true);

    const stop = await stack.api<{ status: string }>('POST', `/runs/${id}/stop`, { body: { reason: 'operator changed their mind' } });
    expect(stop.status).toBe(202);
    expect(stop.body.status).toBe('stopping');
    const again = await stack.api<{ error: string }>('POST', `/runs/${id}/stop`);
    expect(again.status).toBe(409);

    const stopped = await stack.waitForRun(id);
    expect(stopped.status).toBe('stopped');
    expect(groupIsAlive(pgid)).toBe(false);
    expect(statuses(stopped).slice(-3)).toEqual(['running', 'stopping', 'stopped']);
    expect(stopped.history.find((change) => change.status === 'stopping')?.reason).toBe('operator changed their mind');
    expect(stopped.error?.type).toBe('STOPPED');
  });

  it('kills an executor that ignores SIGTERM after the grace period', async () => {
    const tag = uniqueTag('stubborn');
    await stack.startRunner({ tags: [tag] });
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: { ...held.parameters, ignore_sigterm: true }, additional_demands: { tags: [tag] } });
    const pgid = executorPid(await stack.waitForRun(id, (run) => run.status === 'running'));
    const { body } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`);
    expect(body.status).toBe('stopped');
    expect(groupIsAlive(pgid)).toBe(false);
  });

  it('ends a pending run at once', async () => {
    const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [uniqueTag('nobody')] } });
    await stack.waitForRun(id, (run) => run.pending_reason !== undefined);
    const stop = await stack.api<{ status: string }>('POST', `/runs/${id}/stop`);
    expect(stop.body.status).toBe('stopped');
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('stopped');
    expect(statuses(run)).not.toContain('dispatched');
  });

  it('answers clearly when the run has already ended or does not exist', async () => {
    const tag = uniqueTag('done');
    await stack.startRunner({ tags: [tag] });
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', additional_demands: { tags: [tag] } } });
    const late = await stack.api<{ error: string }>('POST', `/runs/${body.id}/stop`);
    expect(late.status).toBe(409);
    expect(late.body.error).toBe('the run has already ended (completed)');
    expect((await stack.api('POST', '/runs/00000000-0000-0000-0000-000000000000/stop')).status).toBe(404);
  });
});

describe('timeouts and failures', () => {
  it('fails a run that exceeds its timeout, ending its processes', async () => {
    const tag = uniqueTag('slow');
    await stack.startRunner({ tags: [tag] });
    // Held by a gate that never opens, so the run outlives its timeout however fast the machine is;
    // and it may be running for only a moment, so the executor's pid is read from the final history.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', timeout_seconds: 1, parameters: held.parameters, additional_demands: { tags: [tag] } });
    const run = await stack.waitForRun(id);
    const pgid = executorPid(run);
    expect(run.status).toBe('failed');
    expect(run.error).toEqual({ type: 'RUN_TIMEOUT', message: 'run exceeded its timeout of 1s; its processes were ended' });
    expect(groupIsAlive(pgid)).toBe(false);
  });
});

describe('crash recovery', () => {
  it('resumes a run on its runner when the runner comes back after kill -9', async () => {
    // A stack of its own, so a comeback cannot hold up the other tests' runs.
    const own = await TestStack.create({ apiEnv });
    try {
      const tag = uniqueTag('phoenix');
      const first = await own.startRunner({ tags: [tag] });
      // The gate opens only once the run restarted on the runner that came back: the orphan cannot finish by itself.
      const held = await runGate(own.root);
      const id = await own.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
      const orphan = executorPid(await own.waitForRun(id, (run) => run.status === 'running'));
      await first.process.stop('SIGKILL');
      // The dead runner's watchdog ends the orphan (containment); the runner that comes back restarts the run.
      const again = await own.startRunner({ tags: [tag], projectDir: first.projectDir, dataDir: first.dataDir });
      expect(again.runnerId).toBe(first.runnerId);
      const restarted = await own.waitForRun(id, (run) => restarts(run).length > 0, testTime(90_000));
      expect(restarts(restarted).join('\n')).toMatch(/executor restarted after its runner came back \(attempt 2/);
      expect(groupIsAlive(orphan)).toBe(false);
      await held.open();
      const run = await own.waitForRun(id);
      expect(run.status).toBe('completed');
      expect(run.runner_id).toBe(first.runnerId);
      expect(run.history.map((change) => change.reason).join('\n')).toMatch(/executor restarted after its runner came back \(attempt 2/);
    } finally {
      await own.stop();
    }
  });

  it('hands the run to another runner when its runner does not come back', async () => {
    const tag = uniqueTag('gone');
    const doomed = await stack.startRunner({ tags: [tag] });
    // Held until it runs on the survivor: it cannot end on the doomed runner, which dies mid-run.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    await stack.waitForRun(id, (run) => run.status === 'running' && run.runner_id === doomed.runnerId);
    await doomed.process.stop('SIGKILL');
    const survivor = await stack.startRunner({ tags: [tag] });
    await stack.waitForRun(id, (run) => run.status === 'running' && run.runner_id === survivor.runnerId, testTime(120_000));
    await held.open();
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(survivor.runnerId);
    expect(run.history.map((change) => change.reason).join('\n')).toContain(`runner ${doomed.runnerId}`);
  });

  it('keeps runs going while the API is down, and shows them when it returns', async () => {
    const tag = uniqueTag('api-down');
    await stack.startRunner({ tags: [tag] });
    const extraApi = await stack.startApi();
    // Held until the API is gone, so the run ends while no API process is up.
    const held = await runGate(stack.root);
    const { body } = await stack.api<{ id: string }>('POST', '/runs', { baseUrl: extraApi, body: { agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } } });
    await stack.processes.at(-1)!.stop('SIGKILL');
    await held.open();
    // With no API process at all, the run still finishes: Temporal and the runner carry it.
    await stack.client.workflow.getHandle(runWorkflowId(body.id)).result();
    const revived = await stack.startApi();
    const { body: run } = await stack.api<RunView>('GET', `/runs/${body.id}`, { baseUrl: revived });
    expect(run.status).toBe('completed');
  });
});

describe('sessions', () => {
  it('resumes a session on the runner that holds it, with the executor’s session id', async () => {
    const tag = uniqueTag('session');
    // Two runners could take the first run; the resumed one must go where the first went.
    await stack.startRunner({ tags: [tag] });
    await stack.startRunner({ tags: [tag] });
    const session = uniqueTag('conversation');
    const { body: first } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt: 'one', session_id: session, additional_demands: { tags: [tag] } } });
    expect(first.status).toBe('completed');
    expect(first.executor_session_id).toBeDefined();
    const { body: second } = await stack.api<RunView>('POST', '/runs?wait=true', {
      body: { agent: 'echo', prompt: 'two', session_id: session, mode: 'resume', additional_demands: { tags: [tag] } },
    });
    expect(second.status).toBe('completed');
    expect(second.runner_id).toBe(first.runner_id);
    expect(second.demands).toMatchObject({ hostname: first.runner!.hostname, project_dir: first.runner!.project_dir });
    expect(second.result).toMatchObject({ resumed_session: first.executor_session_id });

    const { status, body } = await stack.api<{ runs: Array<{ id: string }> }>('GET', `/sessions/${session}`);
    expect(status).toBe(200);
    expect(body.runs.map((run) => run.id).sort()).toEqual([first.id, second.id].sort());
    const listing = await stack.api<{ sessions: Array<{ session_id: string; runs: number }> }>('GET', '/sessions');
    expect(listing.body.sessions.find((entry) => entry.session_id === session)?.runs).toBe(2);
  });

  it('refuses to resume a session that has no runs', async () => {
    const { status, body } = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'echo', session_id: 'never-seen', mode: 'resume' } });
    expect(status).toBe(404);
    expect(body.error).toBe('session "never-seen" has no runs to resume');
    expect((await stack.api('POST', '/runs', { body: { agent: 'echo', mode: 'resume' } })).status).toBe(400);
  });
});

describe('listing runs', () => {
  it('filters by status, runner, tag and session, and pages with a cursor', async () => {
    const tag = uniqueTag('list');
    const { runnerId } = await stack.startRunner({ tags: [tag] });
    const ids: string[] = [];
    for (const prompt of ['a', 'b', 'c']) {
      const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt, additional_demands: { tags: [tag] } } });
      ids.push(body.id);
    }
    const byTag = await stack.api<{ runs: Array<{ id: string; status: string; runner_id: string }> }>('GET', `/runs?tag=${tag}&status=completed&runner=${runnerId}`);
    expect(byTag.body.runs.map((run) => run.id).sort()).toEqual([...ids].sort());

    const page1 = await stack.api<{ runs: Array<{ id: string }>; next_cursor: string }>('GET', `/runs?tag=${tag}&limit=2`);
    expect(page1.body.runs).toHaveLength(2);
    const page2 = await stack.api<{ runs: Array<{ id: string }>; next_cursor?: string }>('GET', `/runs?tag=${tag}&limit=2&cursor=${encodeURIComponent(page1.body.next_cursor)}`);
    expect([...page1.body.runs, ...page2.body.runs].map((run) => run.id).sort()).toEqual([...ids].sort());

    const bad = await stack.api<{ details: { problems: string[] } }>('GET', '/runs?status=done');
    expect(bad.status).toBe(400);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { concurrencyStateQuery, concurrencyWorkflowId, runWorkflowId } from '../workflows/messages.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

const startedAt = (run: RunView): number => Date.parse(run.executor_started_at!);
const endedAt = (run: RunView): number => Date.parse(run.history.at(-1)!.at);
const waitsForKey = (key: string) => (run: RunView) => run.status === 'pending' && run.pending_reason?.includes(`concurrency key ${key}`) === true;

/** Two runners with room to spare, so only the key holds runs back; runs reach them by `tag`. */
async function roomyFleet() {
  const tag = uniqueTag('conc');
  await stack.startRunner({ tags: [tag], capacity: 3 });
  await stack.startRunner({ tags: [tag], capacity: 3 });
  const key = `key-${tag}`;
  const post = (body: Record<string, unknown>, limit = 1): Promise<string> =>
    stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] }, concurrency: { key, limit }, ...body });
  return { tag, key, post };
}

describe('a concurrency key', () => {
  it('holds runs sharing it to its limit across the fleet; the others wait pending, naming the key', async () => {
    const { key, post } = await roomyFleet();
    const held = await runGate(stack.root);
    const first = await post({ parameters: held.parameters });
    await stack.waitForRun(first, (run) => run.status === 'running');
    const second = await post({});
    const waiting = await stack.waitForRun(second, waitsForKey(key));
    expect(waiting.pending_reason).toBe(`waiting for concurrency key ${key}: at most 1 at once`);
    await held.open();
    const [done, next] = await Promise.all([stack.waitForRun(first), stack.waitForRun(second)]);
    expect([done.status, next.status]).toEqual(['completed', 'completed']);
    // The second started only once the first had ended, though both runners had free slots all along.
    expect(startedAt(next)).toBeGreaterThanOrEqual(endedAt(done));
  });

  it('never runs more than its limit at once in a burst, and uses the whole limit', async () => {
    const { post } = await roomyFleet();
    const ids = await Promise.all(Array.from({ length: 6 }, () => post({ parameters: { sleep_ms: 1500 } }, 2)));
    const runs = await Promise.all(ids.map((id) => stack.waitForRun(id)));
    for (const run of runs) expect(run.status).toBe('completed');
    // The most runs whose executor ran at the same moment: at every start, count those started and not yet ended.
    const overlap = Math.max(...runs.map((run) => runs.filter((other) => startedAt(other) <= startedAt(run) && endedAt(other) > startedAt(run)).length));
    expect(overlap).toBe(2);
  });

  it('admits higher priority first, equal priorities first come, first served; a stopped waiter leaves the line', async () => {
    const { key, post } = await roomyFleet();
    const held = await runGate(stack.root);
    const holder = await post({ parameters: held.parameters });
    await stack.waitForRun(holder, (run) => run.status === 'running');
    const queue = async (body: Record<string, unknown>): Promise<string> => {
      const id = await post(body);
      await stack.waitForRun(id, waitsForKey(key));
      return id;
    };
    const low = await queue({});
    const leaving = await queue({ priority: 5 });
    const alsoLow = await queue({ priority: 0 });
    const high = await queue({ priority: 10 });
    expect((await stack.api('POST', `/runs/${leaving}/stop`, { body: { reason: 'not needed' } })).status).toBe(202);
    expect((await stack.waitForRun(leaving)).status).toBe('stopped');
    await held.open();
    const runs = await Promise.all([high, low, alsoLow].map((id) => stack.waitForRun(id)));
    for (const run of runs) expect(run.status).toBe('completed');
    expect([...runs].sort((a, b) => startedAt(a) - startedAt(b)).map((run) => run.id)).toEqual([high, low, alsoLow]);
    // Everyone gave their permit back: the key's semaphore ended.
    await eventually(async () => {
      const description = await stack.client.workflow.getHandle(concurrencyWorkflowId(key)).describe();
      expect(description.status.name).toBe('COMPLETED');
    });
  });

  it('keeps its holders and its line across a restart of the control worker', async () => {
    const { key, post } = await roomyFleet();
    const held = await runGate(stack.root);
    const holder = await post({ parameters: held.parameters });
    await stack.waitForRun(holder, (run) => run.status === 'running');
    const waiter = await post({});
    await stack.waitForRun(waiter, waitsForKey(key));
    const control = stack.processes.find((process) => process.name === 'control' && process.running)!;
    await control.stop();
    await stack.startControl();
    const state = await stack.client.workflow.getHandle(concurrencyWorkflowId(key)).query(concurrencyStateQuery);
    expect(state).toMatchObject({ key, holders: [holder], waiting: [{ run_id: waiter, limit: 1 }] });
    await held.open();
    const [done, next] = await Promise.all([stack.waitForRun(holder), stack.waitForRun(waiter)]);
    expect([done.status, next.status]).toEqual(['completed', 'completed']);
    expect(startedAt(next)).toBeGreaterThanOrEqual(endedAt(done));
  });

  it('lets go of a holder whose run workflow was terminated without giving its permit back', async () => {
    const { key, post } = await roomyFleet();
    const held = await runGate(stack.root);
    const holder = await post({ parameters: held.parameters });
    await stack.waitForRun(holder, (run) => run.status === 'running');
    const waiter = await post({});
    await stack.waitForRun(waiter, waitsForKey(key));
    // Terminated: no code of the run runs again, so only the key's own check of its holders frees the permit.
    await stack.client.workflow.getHandle(runWorkflowId(holder)).terminate('hostile: an admin ends the workflow outright');
    expect((await stack.waitForRun(waiter, undefined, 120_000)).status).toBe('completed');
    await held.open();
  });

  it('on an agent, fills {project} from the run’s project_dir demand; runs of other projects do not wait', async () => {
    const tag = uniqueTag('conc-agent');
    const one = await stack.startRunner({ tags: [tag], capacity: 2 });
    const other = await stack.startRunner({ tags: [tag], capacity: 2 });
    const agent = `echo-${tag}`;
    const echo = await stack.api<Record<string, unknown>>('GET', '/agents/echo');
    const created = await stack.api('POST', '/agents', { body: { ...echo.body, name: agent, concurrency: { key: 'repo:{project}', limit: 1 } } });
    expect(created.status).toBe(201);
    const held = await runGate(stack.root);
    const onProject = (projectDir: string, body: Record<string, unknown> = {}) => stack.postRun({ agent, additional_demands: { tags: [tag], project_dir: projectDir }, ...body });
    const holder = await onProject(one.projectDir, { parameters: held.parameters });
    await stack.waitForRun(holder, (run) => run.status === 'running');
    const sameProject = await onProject(one.projectDir);
    await stack.waitForRun(sameProject, waitsForKey(`repo:${one.projectDir}`));
    // Another project's key is another key: it runs at once.
    expect((await stack.waitForRun(await onProject(other.projectDir))).status).toBe('completed');
    await held.open();
    expect((await stack.waitForRun(sameProject)).status).toBe('completed');
    // Without a project_dir the key cannot be filled in: refused up front.
    const refused = await stack.api<{ error: string }>('POST', '/runs', { body: { agent, additional_demands: { tags: [tag] } } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/repo:\{project\} uses \{project\}.*no project_dir/);
  });

  it('refuses bad concurrency limits with 400 and the reason', async () => {
    const bad = [
      [{ key: 'x', limit: 0 }, /limit/],
      [{ key: 'x', limit: 1001 }, /limit/],
      [{ key: 'x', limit: 1.5 }, /limit/],
      [{ key: '', limit: 1 }, /key/],
      [{ key: 'a b', limit: 1 }, /concurrency key uses letters/],
      [{ key: '$(id)', limit: 1 }, /concurrency key uses letters/],
      [{ key: 'repo:{home}', limit: 1 }, /unknown placeholder \{home\}/],
      [{ key: 'repo:{project', limit: 1 }, /unbalanced/],
      [{ key: 'x'.repeat(129), limit: 1 }, /key/],
      [{ key: 'x', limit: 1, scope: 'all' }, /scope|unrecognized/i],
      ['one', /concurrency/],
    ] as const;
    for (const [concurrency, reason] of bad) {
      const { status, body } = await stack.api('POST', '/runs', { body: { agent: 'echo', concurrency } });
      expect(status, JSON.stringify(concurrency)).toBe(400);
      expect(JSON.stringify(body), JSON.stringify(concurrency)).toMatch(reason);
    }
    const agent = await stack.api('POST', '/agents', { body: { name: `bad-${uniqueTag('a')}`, concurrency: { key: '{nope}', limit: 1 } } });
    expect(agent.status).toBe(400);
  });
});

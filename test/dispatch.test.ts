import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { runGate } from './support/gates.js';
import { TestStack, uniqueTag } from './support/stack.js';
import { testSeconds } from './support/time.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv: { AO_DISPATCH_TIMEOUT_SECONDS: testSeconds(3) } });
});
afterAll(async () => {
  await stack?.stop();
});

const spawnedAt = (run: RunView): number => Date.parse(run.executor_started_at!);

/** A runner of capacity 1 whose one slot is held by a gated run, so every further run queues. */
async function busyRunner() {
  const tag = uniqueTag('queue');
  const { runnerId } = await stack.startRunner({ tags: [tag], capacity: 1 });
  const held = await runGate(stack.root);
  const holder = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
  await stack.waitForRun(holder, (run) => run.status === 'running');
  const queue = async (body: Record<string, unknown>): Promise<string> => {
    const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] }, ...body });
    // Queued in order: each run waits in the runner's queue before the next is posted.
    await stack.waitForRun(id, (run) => run.pending_reason?.startsWith('waiting for a free slot') === true);
    return id;
  };
  return { runnerId, holder, held, queue };
}

describe('the queue for a busy runner', () => {
  it('dispatches higher priority first, and equal priorities first come, first served', async () => {
    const { runnerId, holder, held, queue } = await busyRunner();
    const low = await queue({});
    const alsoLow = await queue({ priority: 0 });
    const high = await queue({ priority: 10 });
    const negative = await queue({ priority: -5 });
    await held.open();
    expect((await stack.waitForRun(holder)).status).toBe('completed');
    const runs = await Promise.all([high, low, alsoLow, negative].map((id) => stack.waitForRun(id)));
    for (const run of runs) expect(run).toMatchObject({ status: 'completed', runner_id: runnerId });
    // Capacity 1: each starts after the one before it ended, in this order.
    const order = [...runs].sort((a, b) => spawnedAt(a) - spawnedAt(b)).map((run) => run.id);
    expect(order).toEqual([high, low, alsoLow, negative]);
  });

  it('fails a run that waited for a slot longer than its queue_timeout_seconds with QUEUE_TIMEOUT, and the queue goes on', async () => {
    const { holder, held, queue } = await busyRunner();
    const impatient = await queue({ queue_timeout_seconds: 1 });
    const patient = await queue({});
    const failed = await stack.waitForRun(impatient);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ type: 'QUEUE_TIMEOUT' });
    expect(failed.error?.message).toMatch(/queue timeout of 1s for a free slot: .*at capacity/);
    await held.open();
    expect((await stack.waitForRun(holder)).status).toBe('completed');
    // The slot the timed-out run would have been granted goes to the next in line.
    expect((await stack.waitForRun(patient)).status).toBe('completed');
  });

  it('refuses bad priorities and queue timeouts with 400', async () => {
    for (const bad of [{ priority: 1.5 }, { priority: 1_000_000 }, { priority: 'high' }, { queue_timeout_seconds: 0 }, { queue_timeout_seconds: -3 }, { queue_timeout_seconds: 'soon' }]) {
      const { status, body } = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'echo', ...bad } });
      expect(status, JSON.stringify(bad)).toBe(400);
      expect(JSON.stringify(body)).toMatch(/priority|queue_timeout_seconds/);
    }
  });
});

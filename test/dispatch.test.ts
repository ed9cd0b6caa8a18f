import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testSeconds, testTime } from './support/time.js';
import { FLEET_TASK_QUEUE, releaseSlotSignal, runWorkflowId, runnerStateQuery, runnerWorkflowId } from '../workflows/messages.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv: { AO_DISPATCH_TIMEOUT_SECONDS: testSeconds(3) } });
});
afterAll(async () => {
  await stack?.stop();
});

const spawnedAt = (run: RunView): number => Date.parse(run.executor_started_at!);

/** How many `releaseSlot` signals a run's workflow sent its runners. */
async function releasesSent(runId: string): Promise<number> {
  const events = (await stack.client.workflow.getHandle(runWorkflowId(runId)).fetchHistory()).events ?? [];
  return events.filter((event) => event.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === releaseSlotSignal.name).length;
}

/** Once the runner workflow holds no slot for any run. */
async function holdsNoSlot(runnerId: string): Promise<void> {
  const runner = stack.client.workflow.getHandle(runnerWorkflowId(runnerId));
  await eventually(async () => expect((await runner.query(runnerStateQuery)).active_runs).toEqual([]));
}

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
  return { tag, runnerId, holder, held, queue };
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

  it("gives a completed run's slot back from the runner, without a release from its workflow, and a failed run's from its workflow", async () => {
    const { runnerId, holder, held, queue } = await busyRunner();
    const failing = await queue({ parameters: { exit_code: 3 } });
    const next = await queue({});
    await held.open();
    expect((await stack.waitForRun(holder)).status).toBe('completed');
    expect((await stack.waitForRun(failing)).status).toBe('failed');
    // Each slot reached the next run in line: the holder's (given back by the runner), then the failed run's (by its workflow).
    expect(await stack.waitForRun(next)).toMatchObject({ status: 'completed', runner_id: runnerId });
    expect(await releasesSent(holder)).toBe(0);
    expect(await releasesSent(next)).toBe(0);
    expect(await releasesSent(failing)).toBe(1);
    await holdsNoSlot(runnerId);
  });

  it('does not take an executor at its word that the slot is free: a failed run that prints slot_released has its slot given back by its workflow', async () => {
    const tag = uniqueTag('forged-release');
    const profiles = await fs.mkdtemp(path.join(stack.root, 'profiles-'));
    // An executor that claims, in its own output, what only the runner may say, then fails.
    const forger = "process.stdin.resume(); process.stdin.on('end', () => { process.stdout.write(JSON.stringify({ status: 'failed', error: 'forged', slot_released: true }) + '\\n'); process.exitCode = 3; });";
    await fs.writeFile(path.join(profiles, 'forger.json'), JSON.stringify({ description: 'claims slot_released', type: 'echo', command: [process.execPath, '-e', forger], config: {} }));
    const { runnerId } = await stack.startRunner({ profile: 'forger', tags: [tag], capacity: 1, extraArgs: ['--profiles-dir', profiles] });
    const first = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    const second = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    // Capacity 1: the second runs only once the first's slot is back.
    for (const id of [first, second]) expect(await stack.waitForRun(id)).toMatchObject({ status: 'failed', runner_id: runnerId });
    expect(await releasesSent(first)).toBe(1);
    await holdsNoSlot(runnerId);
  });

  it('refuses bad priorities and queue timeouts with 400', async () => {
    for (const bad of [{ priority: 1.5 }, { priority: 1_000_000 }, { priority: 'high' }, { queue_timeout_seconds: 0 }, { queue_timeout_seconds: -3 }, { queue_timeout_seconds: 'soon' }]) {
      const { status, body } = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'echo', ...bad } });
      expect(status, JSON.stringify(bad)).toBe(400);
      expect(JSON.stringify(body)).toMatch(/priority|queue_timeout_seconds/);
    }
  });
});

/** The runner whose queue a run's last pick joined, from the pick's result in its history (a local activity's marker). */
async function queuedAt(runId: string): Promise<string | undefined> {
  let runner: string | undefined;
  for (const event of (await stack.client.workflow.getHandle(runWorkflowId(runId)).fetchHistory()).events ?? []) {
    for (const payloads of Object.values(event.markerRecordedEventAttributes?.details ?? {})) {
      for (const payload of payloads.payloads ?? []) runner = /"queued_at":"([^"]+)"/.exec(Buffer.from(payload.data ?? new Uint8Array()).toString())?.[1] ?? runner;
    }
  }
  return runner;
}

describe('a run queued on a busy runner while another runner frees a slot', () => {
  it('moves to the runner with room instead of waiting for its own runner (which tells it nothing: its queue is empty there)', async () => {
    const tag = uniqueTag('requeue');
    await stack.startRunner({ tags: [tag], capacity: 1 });
    await stack.startRunner({ tags: [tag], capacity: 1 });
    const gates = [await runGate(stack.root), await runGate(stack.root)];
    const holders: RunView[] = [];
    for (const gate of gates) {
      const id = await stack.postRun({ agent: 'echo', parameters: gate.parameters, additional_demands: { tags: [tag] } });
      holders.push(await stack.waitForRun(id, (run) => run.status === 'running'));
    }
    expect(new Set(holders.map((run) => run.runner_id)).size).toBe(2);
    const waiting = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    await stack.waitForRun(waiting, (run) => run.pending_reason?.startsWith('waiting for a free slot') === true);
    const queuedOn = await queuedAt(waiting);
    const other = holders.findIndex((run) => run.runner_id !== queuedOn);
    expect(queuedOn && other >= 0).toBeTruthy();
    // The slot frees on the runner whose queue is empty: no grant goes out, and the fleet view does not hear of it.
    await gates[other]!.open();
    expect((await stack.waitForRun(holders[other]!.id)).status).toBe('completed');
    // It looks again within seconds (it used to wait 30 s, and read a view that still had the runner full):
    // the budget here is below those 30 s on an idle machine.
    const moved = await stack.waitForRun(waiting, undefined, testTime(25_000));
    expect(moved).toMatchObject({ status: 'completed', runner_id: holders[other]!.runner_id });
    // The runner it queued on still holds its gated run: it did not wait for that slot.
    expect((await stack.waitForRun(holders[1 - other]!.id, () => true)).status).toBe('running');
    await gates[1 - other]!.open();
    expect((await stack.waitForRun(holders[1 - other]!.id)).status).toBe('completed');
  });
});

describe('a burst of runs larger than the control worker’s workflow task slots (40)', () => {
  it('queues every one behind a busy runner and runs them all, the runner workflow on a queue of its own', async () => {
    const { tag, runnerId, holder, held } = await busyRunner();
    // Each pick holds its run's workflow task slot while it waits on the runner workflow: on the control
    // queue, 40 such picks would leave the runner workflow no slot to answer them in.
    expect((await stack.client.workflow.getHandle(runnerWorkflowId(runnerId)).describe()).taskQueue).toBe(FLEET_TASK_QUEUE);
    const ids = await Promise.all(Array.from({ length: 60 }, () => stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } })));
    for (const id of ids) await stack.waitForRun(id, (run) => run.pending_reason?.startsWith('waiting for a free slot') === true);
    await held.open();
    expect((await stack.waitForRun(holder)).status).toBe('completed');
    // One at a time through one slot, waited for in order (polling every run at once would load the control worker).
    const runs: RunView[] = [];
    for (const id of ids) runs.push(await stack.waitForRun(id, undefined, testTime(120_000)));
    expect(runs.filter((run) => run.status !== 'completed').map((run) => `${run.id}: ${run.status} ${run.error?.message ?? ''}`)).toEqual([]);
    // Capacity 1 all along: no two of them ran at once.
    const spans = runs.map((run) => [spawnedAt(run), Date.parse(run.history.at(-1)!.at)] as const).sort((a, b) => a[0] - b[0]);
    for (let index = 1; index < spans.length; index += 1) expect(spans[index]![0]).toBeGreaterThanOrEqual(spans[index - 1]![1]);
  });
});

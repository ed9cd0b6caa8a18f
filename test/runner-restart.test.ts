import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerWorkflowId } from '../workflows/messages.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

/** The runner workflow's history events, as the server holds them. */
async function runnerHistory(runnerId: string) {
  const history = await stack.client.workflow.getHandle(runnerWorkflowId(runnerId)).fetchHistory();
  return history.events ?? [];
}

describe('a runner killed with -9 and back before its old presence timed out', () => {
  it('keeps its runner workflow working once the dead presence times out, and takes the next run', async () => {
    const tag = uniqueTag('restart');
    const first = await stack.startRunner({ tags: [tag] });
    // Its presence activity has started on it (a heartbeat reached the server), so it dies with the process.
    await eventually(async () => {
      const { body } = await stack.api<{ runners: Array<{ runner_id: string; last_heartbeat_at?: string }> }>('GET', '/runners');
      expect(body.runners.find((runner) => runner.runner_id === first.runnerId)?.last_heartbeat_at).toBeDefined();
    });
    await first.process.stop('SIGKILL');
    // The same identity comes back at once: its new instance registers while the dead one's presence is still pending.
    const second = await stack.startRunner({ tags: [tag], projectDir: first.projectDir, dataDir: first.dataDir });
    expect(second.runnerId).toBe(first.runnerId);
    // The premise, through the server: the dead instance's presence activity has timed out.
    await eventually(async () => {
      const events = await runnerHistory(first.runnerId);
      expect(events.some((event) => event.activityTaskTimedOutEventAttributes)).toBe(true);
    }, testTime(60_000));
    const id = await stack.postRun({ agent: 'echo', prompt: 'after the restart', additional_demands: { tags: [tag] } });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(first.runnerId);
    // Its slot came back: the workflow took the release signal, so no workflow task failed on the way.
    const events = await runnerHistory(first.runnerId);
    expect(events.filter((event) => event.workflowTaskFailedEventAttributes).map((event) => event.workflowTaskFailedEventAttributes?.failure?.message)).toEqual([]);
    await eventually(async () => {
      const { body } = await stack.api<{ runners: Array<{ runner_id: string; load: number; status: string }> }>('GET', '/runners');
      expect(body.runners.find((runner) => runner.runner_id === first.runnerId)).toMatchObject({ load: 0, status: 'online' });
    });
  });
});

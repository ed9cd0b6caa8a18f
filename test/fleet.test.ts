import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import type { RunnerView } from '../api/fleet-service.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testSeconds, testTime } from './support/time.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runnerIdFor } from '../workers/runner-options.js';
import { CONTROL_TASK_QUEUE, FLEET_TASK_QUEUE, RUNNER_WORKFLOW_TYPE, runnerWorkflowId } from '../workflows/messages.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv: { AO_DISPATCH_TIMEOUT_SECONDS: testSeconds(3) } });
});
afterAll(async () => {
  await stack?.stop();
});

async function runners(): Promise<RunnerView[]> {
  const { body } = await stack.api<{ runners: RunnerView[] }>('GET', '/runners');
  return body.runners;
}

async function runnerView(runnerId: string): Promise<RunnerView> {
  const found = (await runners()).find((runner) => runner.runner_id === runnerId);
  if (!found) throw new Error(`runner ${runnerId} is not listed`);
  return found;
}

const intervalOf = (run: RunView): [number, number] => {
  const at = (status: string) => Date.parse(run.history.find((change) => change.status === status)!.at);
  return [at('running'), at('completed')];
};

describe('profiles and registration', () => {
  it('lists the shipped profiles with their type and config', async () => {
    const { status, body } = await stack.api<{ profiles: Array<{ name: string; profile: { type: string; config: object } }> }>('GET', '/profiles');
    expect(status).toBe(200);
    expect(body.profiles.map((entry) => entry.name)).toEqual(['codex', 'coding', 'echo', 'gemini', 'procedural', 'research', 'supervised']);
    expect(body.profiles.find((entry) => entry.name === 'coding')?.profile).toMatchObject({ type: 'claude-code', config: { permission_mode: 'acceptEdits' } });
  });

  it('shows a registered runner with its profile, executor, tags, capacity and load', async () => {
    const tag = uniqueTag('reg');
    const { runnerId, projectDir } = await stack.startRunner({ tags: [tag, 'linux'], capacity: 2, requireMatchingTags: true });
    const view = await eventually(async () => {
      const current = await runnerView(runnerId);
      if (!current.last_heartbeat_at) throw new Error('no presence heartbeat recorded yet');
      return current;
    });
    expect(view).toMatchObject({
      status: 'online',
      load: 0,
      capacity: 2,
      registration: {
        executor_profile: 'echo',
        executor: { type: 'echo', config: {} },
        tags: [tag, 'linux'],
        require_matching_tags: true,
        project_dir: projectDir,
      },
    });
  });

  it('refuses a second live runner with the same identity and names the process that holds it', async () => {
    const { process: first, projectDir } = await stack.startRunner({ tags: [uniqueTag('dup')] });
    const second = stack.spawnRunner(['--profile', 'echo', '--project-dir', projectDir]);
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output).toContain(`is already live: pid ${first.pid} on`);
  });
});

describe('matching', () => {
  it('gives a run to a runner that carries all demanded tags', async () => {
    const [alpha, beta] = [uniqueTag('alpha'), uniqueTag('beta')];
    await stack.startRunner({ tags: [alpha] });
    const both = await stack.startRunner({ tags: [alpha, beta] });
    const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [alpha, beta] } });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(both.runnerId);
    expect(run.demands).toMatchObject({ executor_type: 'echo', tags: [alpha, beta] });
  });

  it('keeps a run pending with the unmet demand as reason, and dispatches it when a matching runner appears', async () => {
    const late = uniqueTag('late');
    const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [late] } });
    const pending = await stack.waitForRun(id, (run) => run.pending_reason !== undefined);
    expect(pending.status).toBe('pending');
    expect(pending.pending_reason).toContain(`tags [${late}]`);

    const { runnerId } = await stack.startRunner({ tags: [late] });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(runnerId);
  });

  it('keeps untagged runs off a runner that requires matching tags', async () => {
    const gamma = uniqueTag('gamma');
    const strict = await stack.startRunner({ tags: [gamma], requireMatchingTags: true });
    // Listed first: a pick that finds no matching runner reads the fleet from the same listing.
    await eventually(async () => {
      if ((await runnerView(strict.runnerId)).status !== 'online') throw new Error('not listed online yet');
    }, testTime(30_000));
    const untagged = await stack.postRun({ agent: 'echo', additional_demands: { project_dir: strict.projectDir } });
    const pending = await stack.waitForRun(untagged, (run) => run.pending_reason !== undefined);
    expect(pending.pending_reason).toMatch(/require matching tags and take only runs that demand one of their tags/);

    const tagged = await stack.postRun({ agent: 'echo', additional_demands: { project_dir: strict.projectDir, tags: [gamma] } });
    expect((await stack.waitForRun(tagged)).runner_id).toBe(strict.runnerId);
    expect((await stack.waitForRun(untagged, (run) => run.status !== 'completed')).status).toBe('pending');
  });

  it('matches property demands exactly', async () => {
    const id = await stack.postRun({ agent: 'echo', additional_demands: { executor_profile: 'coding' } });
    const pending = await stack.waitForRun(id, (run) => run.pending_reason !== undefined);
    expect(pending.pending_reason).toContain('executor_profile coding');
  });

  it('never gives a full runner more than its capacity', async () => {
    const tag = uniqueTag('cap');
    const { runnerId } = await stack.startRunner({ tags: [tag], capacity: 1 });
    // Both runs are held until the gate opens: while one holds the only slot, the other must wait.
    const held = await runGate(stack.root);
    const ids = await Promise.all([1, 2].map(() => stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } })));
    const waiting = await eventually(async () => {
      const views = await Promise.all(ids.map(async (id) => (await stack.api<RunView>('GET', `/runs/${id}`)).body));
      const [running, pending] = [views.filter((run) => run.status === 'running'), views.filter((run) => run.status === 'pending')];
      if (running.length !== 1 || pending.length !== 1) throw new Error(`not one running and one pending: ${views.map((run) => run.status).join(', ')}`);
      if (!pending[0]!.pending_reason?.includes('at capacity')) throw new Error(`pending for another reason: ${pending[0]!.pending_reason}`);
      return pending[0]!;
    });
    await held.open();
    const [first, second] = await Promise.all(ids.map((id) => stack.waitForRun(id)));
    expect([first!.runner_id, second!.runner_id]).toEqual([runnerId, runnerId]);
    const [a, b] = [intervalOf(first!), intervalOf(second!)].sort((x, y) => x[0] - y[0]);
    expect(b![0]).toBeGreaterThanOrEqual(a![1]);
    expect(waiting.pending_reason).toContain('at capacity');
  });

  it('prefers the runner with the most free capacity', async () => {
    const tag = uniqueTag('spread');
    const one = await stack.startRunner({ tags: [tag, `${tag}-one`], capacity: 2 });
    const two = await stack.startRunner({ tags: [tag, `${tag}-two`], capacity: 2 });
    // The control worker's view of the fleet is a hint that learns of a new runner within seconds. A run
    // for each runner alone makes it read both first (no runner matching in the view: it reads every one).
    for (const own of [`${tag}-one`, `${tag}-two`]) {
      expect((await stack.waitForRun(await stack.postRun({ agent: 'echo', additional_demands: { tags: [own] } }))).status).toBe('completed');
    }
    const held = await runGate(stack.root);
    const first = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    const running = await stack.waitForRun(first, (run) => run.status === 'running');
    const second = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    const other = running.runner_id === one.runnerId ? two.runnerId : one.runnerId;
    // Read as it is dispatched: on the first run's runner it would wait behind it for the project (not a git repository).
    const secondRun = await stack.waitForRun(second, (run) => run.runner_id !== undefined);
    expect(secondRun.runner_id).toBe(other);
    expect((await stack.waitForRun(second)).status).toBe('completed');
    await held.open();
    expect((await stack.waitForRun(first)).status).toBe('completed');
  });

  it('keeps a project-mode run waiting for the project behind a long one, and stops it there', async () => {
    // Not a git repository: runs take the project's lock one at a time, whatever the capacity.
    const tag = uniqueTag('project');
    await stack.startRunner({ tags: [tag], capacity: 3 });
    const held = await runGate(stack.root);
    const first = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    await stack.waitForRun(first, (run) => run.status === 'running');
    const second = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    const third = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    for (const id of [second, third]) await stack.waitForRun(id, (run) => run.status === 'dispatched');
    // Longer than the execute activity's heartbeat timeout (10 s): waiting is not being lost.
    await new Promise((resolve) => setTimeout(resolve, testTime(13_000)));
    const stopped = await stack.api<RunView>('POST', `/runs/${third}/stop?wait=true`);
    expect(stopped.status).toBe(200);
    expect((await stack.waitForRun(third)).status).toBe('stopped');
    expect((await stack.api<RunView>('GET', `/runs/${first}`)).body.status).toBe('running');
    await held.open();
    expect((await stack.waitForRun(first)).status).toBe('completed');
    const waited = await stack.waitForRun(second);
    expect(waited.status).toBe('completed');
    expect(waited.history.map((change) => change.status)).toEqual(['pending', 'dispatched', 'running', 'completed']);
  });

  it('fails a run with NO_RUNNER after the no-runner timeout', async () => {
    const impatient = await stack.startApi({ AO_NO_RUNNER_TIMEOUT_SECONDS: '1' });
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', {
      baseUrl: impatient,
      body: { agent: 'echo', additional_demands: { tags: [uniqueTag('nowhere')] } },
    });
    expect(body.status).toBe('failed');
    expect(body.error).toMatchObject({ type: 'NO_RUNNER' });
    expect(body.error?.message).toMatch(/no runner took the run in time: no live runner has tags \[nowhere-/);
  });
});

describe('a run waiting for a slot', () => {
  it('waits its turn past the no-runner timeout, saying it waits for a slot, and runs when one frees', async () => {
    const impatient = await stack.startApi({ AO_NO_RUNNER_TIMEOUT_SECONDS: '1' });
    const tag = uniqueTag('queue');
    await stack.startRunner({ tags: [tag], capacity: 1 });
    const held = await runGate(stack.root);
    const post = (parameters: Record<string, unknown>) => stack.api<{ id: string }>('POST', '/runs', { baseUrl: impatient, body: { agent: 'echo', parameters, additional_demands: { tags: [tag] } } });
    const busy = (await post(held.parameters)).body.id;
    await stack.waitForRun(busy, (run) => run.status === 'running');
    const queued = (await post({})).body.id;
    const waiting = await stack.waitForRun(queued, (run) => run.pending_reason?.startsWith('waiting for a free slot') === true);
    // The premise: the no-runner timeout (1 s) has passed several times over while it waited.
    await eventually(async () => {
      const run = await stack.waitForRun(queued, () => true);
      if (Date.now() - Date.parse(run.created_at) < 5_000) throw new Error('not waited long enough yet');
      expect(run.status).toBe('pending');
    }, testTime(30_000));
    expect(waiting.pending_reason).toContain('at capacity');
    await held.open();
    expect((await stack.waitForRun(queued)).status).toBe('completed');
  });
});

describe('a runner workflow started by an earlier release on the control queue', () => {
  it('moves to the fleet queue when its runner registers, and the runner takes runs', async () => {
    const tag = uniqueTag('moved');
    const projectDir = await fs.mkdtemp(path.join(stack.root, 'project-'));
    const runnerId = runnerIdFor(os.hostname(), projectDir, 'echo');
    // Where releases before the fleet queue started it (it waits for its runner's registration).
    const old = await stack.client.workflow.start(RUNNER_WORKFLOW_TYPE, { workflowId: runnerWorkflowId(runnerId), taskQueue: CONTROL_TASK_QUEUE, args: [] });
    await stack.startRunner({ tags: [tag], projectDir });
    await eventually(async () => {
      const current = await stack.client.workflow.getHandle(runnerWorkflowId(runnerId)).describe();
      if (current.runId === old.firstExecutionRunId || current.taskQueue !== FLEET_TASK_QUEUE) throw new Error(`still run ${current.runId} on ${current.taskQueue}`);
    }, testTime(30_000));
    expect((await stack.client.workflow.getHandle(old.workflowId, old.firstExecutionRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
    expect(await runnerView(runnerId)).toMatchObject({ status: 'online' });
    const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    expect(await stack.waitForRun(id)).toMatchObject({ status: 'completed', runner_id: runnerId });
  });
});

describe('liveness', () => {
  it('shows a killed runner offline within a bounded time', async () => {
    const { process, runnerId } = await stack.startRunner({ tags: [uniqueTag('dies')] });
    await process.stop('SIGKILL');
    const view = await eventually(async () => {
      const current = await runnerView(runnerId);
      if (current.status !== 'offline') throw new Error('still online');
      return current;
    }, testTime(45_000));
    expect(view.offline_reason).toMatch(/stopped heartbeating/);
  });

  it('drains and deregisters on SIGTERM', async () => {
    const { process, runnerId } = await stack.startRunner({ tags: [uniqueTag('bye')] });
    await process.stop('SIGTERM');
    expect(process.output).toContain(`runner ${runnerId}: stopped`);
    const view = await eventually(async () => {
      const current = await runnerView(runnerId);
      if (current.status !== 'offline') throw new Error('still online');
      return current;
    });
    expect(view.offline_reason).toBe('runner shut down');
  });

  it('hands a run back when its runner shuts down mid-run', async () => {
    const tag = uniqueTag('handback');
    const leaving = await stack.startRunner({ tags: [tag], extraArgs: ['--drain-seconds', '1'] });
    // The run cannot finish within the drain: its gate opens only once the leaving runner has exited.
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    await stack.waitForRun(id, (run) => run.status === 'running' && run.runner_id === leaving.runnerId);
    const staying = await stack.startRunner({ tags: [tag] });
    await leaving.process.stop('SIGTERM');
    await held.open();
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(staying.runnerId);
    expect(run.history.map((change) => change.reason).join('\n')).toContain(`runner ${leaving.runnerId} shut down during the run`);
  });

  it('picks another runner when the chosen one froze before starting the run', async () => {
    const tag = uniqueTag('frozen');
    const frozen = await stack.startRunner({ tags: [tag] });
    frozen.process.child.kill('SIGSTOP');
    try {
      const id = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
      await stack.waitForRun(id, (run) => run.status === 'dispatched' || run.status === 'pending');
      const healthy = await stack.startRunner({ tags: [tag] });
      const run = await stack.waitForRun(id, undefined, testTime(90_000));
      expect(run.status).toBe('completed');
      expect(run.runner_id).toBe(healthy.runnerId);
    } finally {
      frozen.process.child.kill('SIGCONT');
    }
  });
});

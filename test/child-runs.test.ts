import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { groupIsAlive } from '../activities/containment/run-container.js';
import type { RunView } from '../core/contract/http.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { runWorkflowId } from '../workflows/messages.js';
import { runGate } from './support/gates.js';
import { gitProject } from './support/git-project.js';
import { TestStack, uniqueTag } from './support/stack.js';

/**
 * Child runs through `POST /runs` `parent_run_id`: Temporal child workflows of the parent's run
 * workflow, listed in its `children`, stopped with it unless detached, within the depth and
 * children limits. Real control worker, API, runners and echo executor processes.
 */

let stack: TestStack;
let tag: string;
const started: string[] = [];
const MAX_DEPTH = 2;
const MAX_CHILDREN = 3;

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv: { AO_MAX_CHILD_DEPTH: String(MAX_DEPTH), AO_MAX_CHILDREN_PER_RUN: String(MAX_CHILDREN) } });
  tag = uniqueTag('children');
  // A git project: each run in its own worktree, so held runs do not queue behind each other for the project folder.
  await stack.startRunner({ tags: [tag], capacity: 8, projectDir: await gitProject(await fs.mkdtemp(path.join(stack.root, 'children-project-'))) });
});
afterEach(async () => {
  for (const id of started.splice(0).reverse()) {
    const { body } = await stack.api<RunView>('GET', `/runs/${id}`);
    if (!isFinalRunStatus(body.status)) await stack.api('POST', `/runs/${id}/stop?wait=true`, { body: { graceful: false } });
  }
});
afterAll(async () => {
  await stack?.stop();
});

const executorPid = (run: RunView): number => Number(/executor started \(pid (\d+)\)/.exec(run.history.map((change) => change.reason).join('\n'))![1]);

/** An echo run held until its gate opens (or it is stopped). */
async function heldRun(extra: Record<string, unknown> = {}): Promise<{ id: string; open: () => Promise<void> }> {
  const gate = await runGate(stack.root);
  const id = await stack.postRun({ agent: 'echo', parameters: gate.parameters, additional_demands: { tags: [tag] }, ...extra });
  started.push(id);
  return { id, open: () => gate.open() };
}

async function startChild(parent: string, body: Record<string, unknown> = {}) {
  const reply = await stack.api<{ id: string; error?: string; details?: { type?: string } }>('POST', '/runs', {
    body: { agent: 'echo', additional_demands: { tags: [tag] }, parent_run_id: parent, ...body },
  });
  if (reply.status === 201) started.push(reply.body.id);
  return reply;
}

describe('a child run', () => {
  it('is a Temporal child workflow of its parent, listed in the parent’s children, and its result is read like any run’s', async () => {
    const parent = await heldRun();
    await stack.waitForRun(parent.id, (run) => run.status === 'running');
    const child = await startChild(parent.id, { parameters: { message: 'from the child' } });
    expect(child.status).toBe(201);

    const description = await stack.client.workflow.getHandle(runWorkflowId(child.body.id)).describe();
    expect(description.parentExecution?.workflowId).toBe(runWorkflowId(parent.id));
    const ended = await stack.waitForRun(child.body.id);
    expect(ended.status).toBe('completed');
    expect(ended.parent_run_id).toBe(parent.id);
    expect(JSON.stringify(ended.result)).toContain('from the child');

    const { body: parentView } = await stack.api<RunView>('GET', `/runs/${parent.id}`);
    expect(parentView.children).toEqual([{ run_id: child.body.id, status: 'completed', detached: false }]);
    expect(parentView.parent_run_id).toBeUndefined();
    await parent.open();
    expect((await stack.waitForRun(parent.id)).status).toBe('completed');
  });

  it('is stopped, its processes gone, when its parent is stopped; a detached child lives on', async () => {
    const parent = await heldRun();
    await stack.waitForRun(parent.id, (run) => run.status === 'running');
    const attachedGate = await runGate(stack.root);
    const detachedGate = await runGate(stack.root);
    const attached = await startChild(parent.id, { parameters: { ...attachedGate.parameters, spawn_grandchild: true } });
    const detached = await startChild(parent.id, { parameters: detachedGate.parameters, detached: true });
    expect([attached.status, detached.status]).toEqual([201, 201]);
    const attachedPid = executorPid(await stack.waitForRun(attached.body.id, (run) => run.status === 'running'));
    const detachedPid = executorPid(await stack.waitForRun(detached.body.id, (run) => run.status === 'running'));
    expect(groupIsAlive(attachedPid)).toBe(true);

    const stop = await stack.api<RunView>('POST', `/runs/${parent.id}/stop?wait=true`);
    expect(stop.body.status).toBe('stopped');
    // The parent closes only once its attached child has ended the way a stop ends a run.
    const { body: child } = await stack.api<RunView>('GET', `/runs/${attached.body.id}`);
    expect(child.status).toBe('stopped');
    expect(child.history.find((change) => change.status === 'stopping')?.reason).toBe(`its parent run ${parent.id} ended (stopped)`);
    expect(child.history.find((change) => change.status === 'stopping')?.by).toBe(`run:${parent.id}`);
    expect(groupIsAlive(attachedPid)).toBe(false);

    const { body: stillGoing } = await stack.api<RunView>('GET', `/runs/${detached.body.id}`);
    expect(stillGoing.status).toBe('running');
    expect(groupIsAlive(detachedPid)).toBe(true);
    expect(stop.body.children).toEqual([
      { run_id: attached.body.id, status: 'stopped', detached: false },
      { run_id: detached.body.id, status: 'running', detached: true },
    ]);
    await detachedGate.open();
    expect((await stack.waitForRun(detached.body.id)).status).toBe('completed');
  });
});

describe('the limits on child runs', () => {
  it(`refuses a child deeper than AO_MAX_CHILD_DEPTH (${MAX_DEPTH}) with 409 CHILD_LIMIT`, async () => {
    const root = await heldRun();
    const level1Gate = await runGate(stack.root);
    const level1 = await startChild(root.id, { parameters: level1Gate.parameters });
    const level2Gate = await runGate(stack.root);
    const level2 = await startChild(level1.body.id, { parameters: level2Gate.parameters });
    expect([level1.status, level2.status]).toEqual([201, 201]);
    const level3 = await startChild(level2.body.id);
    expect(level3.status).toBe(409);
    expect(level3.body.details?.type).toBe('CHILD_LIMIT');
    expect(level3.body.error).toContain(`at depth ${MAX_DEPTH + 1}`);
    const { body } = await stack.api<RunView>('GET', `/runs/${level2.body.id}`);
    expect(body.children ?? []).toEqual([]);
  });

  it(`refuses more than AO_MAX_CHILDREN_PER_RUN (${MAX_CHILDREN}) children of one run`, async () => {
    const parent = await heldRun();
    for (let index = 0; index < MAX_CHILDREN; index += 1) expect((await startChild(parent.id)).status).toBe(201);
    const one = await startChild(parent.id);
    expect(one.status).toBe(409);
    expect(one.body.details?.type).toBe('CHILD_LIMIT');
    const { body } = await stack.api<RunView>('GET', `/runs/${parent.id}`);
    expect(body.children).toHaveLength(MAX_CHILDREN);
  });

  it('refuses a child of an ended run (409 PARENT_NOT_LIVE), of an unknown run (404), and `detached` without a parent (400)', async () => {
    const ended = await stack.postRun({ agent: 'echo', additional_demands: { tags: [tag] } });
    await stack.waitForRun(ended);
    const late = await startChild(ended);
    expect(late.status).toBe(409);
    expect(late.body.details?.type).toBe('PARENT_NOT_LIVE');
    expect((await startChild('no-such-run')).status).toBe(404);
    const orphan = await stack.api<{ details: { problems: string[] } }>('POST', '/runs', { body: { agent: 'echo', detached: true } });
    expect(orphan.status).toBe(400);
    expect(orphan.body.details.problems).toEqual(['detached: detached applies only to a child run: it needs a parent_run_id']);
  });
});

describe('a child run’s budget', () => {
  it('is never more than its parent’s: the parent’s limits cap what the child asks for', async () => {
    const parent = await heldRun({ budget: { max_cost_usd: 0.5, max_turns: 4 } });
    await stack.waitForRun(parent.id, (run) => run.status === 'running');
    const child = await startChild(parent.id, { budget: { max_turns: 40 } });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    await stack.waitForRun(child.body.id);
    // What the child's workflow was started with: the first event of its history.
    const history = await stack.client.workflow.getHandle(runWorkflowId(child.body.id)).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload<{ budget?: unknown }>(payload!);
    expect(input.budget).toEqual({ max_turns: 4, max_cost_usd: 0.5 });
    await parent.open();
  });
});

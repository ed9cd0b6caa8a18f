import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../core/contract/http.js';
import { runWorkflowId } from '../workflows/messages.js';
import { TestStack, eventually } from './support/stack.js';

let stack: TestStack;
let runnerId: string;

beforeAll(async () => {
  stack = await TestStack.create();
  ({ runnerId } = await stack.startRunner({ profile: 'echo' }));
});
afterAll(async () => {
  await stack?.stop();
});

describe('when an echo run is posted', () => {
  it('returns an id at once and completes on the runner with the echoed invocation', async () => {
    const created = await stack.api<{ id: string; status: string }>('POST', '/runs', {
      body: { agent: 'echo', prompt: 'hello', parameters: { message: 'hi' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');

    const run = await stack.waitForRun(created.body.id);
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(runnerId);
    expect(run.result).toMatchObject({
      echo: { prompt: 'hello', parameters: { message: 'hi' } },
      agent: 'echo',
      executor_type: 'echo',
      schema_version: '2.1',
    });
    expect(run.history.map((change) => change.status)).toEqual(['pending', 'dispatched', 'running', 'completed']);
    expect(run.temporal_ui_url).toContain(`/namespaces/${stack.namespace}/workflows/${runWorkflowId(created.body.id)}`);
  });

  it('schedules the execute activity on the runner’s own task queue, as the workflow history shows', async () => {
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt: 'history' } });
    expect(body.status).toBe('completed');
    const history = await stack.client.workflow.getHandle(runWorkflowId(body.id)).fetchHistory();
    const scheduled = (history.events ?? [])
      .map((event) => event.activityTaskScheduledEventAttributes)
      .filter((attributes) => attributes?.activityType?.name === 'execute');
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]!.taskQueue?.name).toBe(`ao.runner.${runnerId}`);
  });

  it('lists the run, newest first, with its status', async () => {
    const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo' } });
    const listed = await eventually(async () => {
      const { body: list } = await stack.api<{ runs: Array<{ id: string; status: string }> }>('GET', '/runs?agent=echo');
      const found = list.runs.find((run) => run.id === body.id);
      if (found?.status !== 'completed') throw new Error('not listed as completed yet');
      return list;
    });
    expect(listed.runs[0]!.id).toBe(body.id);
  });
});

describe('when the executor fails', () => {
  it('ends failed with the exit code and stderr as the cause', async () => {
    const { status, body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', parameters: { exit_code: 3 } } });
    expect(status).toBe(200);
    expect(body.status).toBe('failed');
    expect(body.error?.type).toBe('EXECUTOR_FAILED');
    expect(body.error?.message).toMatch(/exited with code 3: echo executor: failing with exit code 3/);
  });
});

describe('when the input is wrong', () => {
  it('refuses unknown fields with the field named', async () => {
    const { status, body } = await stack.api<{ details: { problems: string[] } }>('POST', '/runs', { body: { agent: 'echo', agnet: 'x' } });
    expect(status).toBe(400);
    expect(body.details.problems.join()).toMatch(/agnet/);
  });

  it('answers 404 for an agent that does not exist', async () => {
    const { status, body } = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'no-such-agent' } });
    expect(status).toBe(404);
    expect(body.error).toBe('agent "no-such-agent" does not exist');
  });

  it('refuses a path-like agent name before it touches the disk', async () => {
    const { status, body } = await stack.api<{ details: { problems: string[] } }>('POST', '/runs', { body: { agent: '../echo' } });
    expect(status).toBe(400);
    expect(body.details.problems[0]).toMatch(/^agent:/);
  });

  it('lists every parameter that does not match the agent’s schema, with the schema', async () => {
    const { status, body } = await stack.api<{ details: { problems: string[]; schema: unknown } }>('POST', '/runs', {
      body: { agent: 'echo', parameters: { sleep_ms: 'soon', colour: 'red' } },
    });
    expect(status).toBe(400);
    expect(body.details.problems).toEqual(expect.arrayContaining(['sleep_ms: must be integer', 'parameters: unknown field "colour"']));
    expect(body.details.schema).toMatchObject({ type: 'object' });
  });

  it('answers 400 for malformed JSON', async () => {
    const { status, body } = await stack.api<{ error: string }>('POST', '/runs', { rawBody: '{"agent":' });
    expect(status).toBe(400);
    expect(body.error).toMatch(/malformed JSON/);
  });

  it('answers 401 without the token and 404 for an unknown run', async () => {
    expect((await stack.api('GET', '/runs', { token: null })).status).toBe(401);
    expect((await stack.api('GET', '/runs', { token: 'wrong-token-wrong-token' })).status).toBe(401);
    expect((await stack.api('GET', '/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await stack.api('GET', '/runs/..%2F..%2Fetc')).status).toBe(400);
  });
});

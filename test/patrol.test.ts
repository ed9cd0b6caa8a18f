import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import type { ScheduleView } from '../core/contract/schedules.js';
import { PATROL_CHECKS, makePatrolProject } from './support/patrol-project.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

interface CheckResult {
  name: string;
  argv: string[];
  passed: boolean;
  exit_code: number | null;
  counts: { failed: number; passed?: number };
  first_failures: string[];
}
interface PatrolResult {
  passed: boolean;
  failed_checks: number;
  failures: number;
  checks: CheckResult[];
  alerts: string[];
}

let stack: TestStack;
let tag: string;

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('patrol');
  const projectDir = await makePatrolProject(await fs.mkdtemp(path.join(stack.root, 'patrolled-')));
  await stack.startRunner({ profile: 'procedural', tags: [tag], projectDir });
});
afterAll(async () => {
  await stack?.stop();
});

/** The run's alerts, once `atLeast` have arrived: they are reported after the executor's session ended, maybe in a later batch. */
async function alertsOf(runId: string, atLeast = 0): Promise<string[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${runId}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('the run’s events have not all arrived');
    const alerts = body.events.filter((event) => event.kind === 'alert').map((event) => String(event.data.message));
    if (alerts.length < atLeast) throw new Error(`${alerts.length} of ${atLeast} alerts so far`);
    return alerts;
  });
}

describe('the shipped patrol', () => {
  it('fails the run when a check fails, keeping counts and first failures as its result, and raises an alert per failed check', async () => {
    const id = await stack.postRun({ agent: 'patrol', parameters: { checks: PATROL_CHECKS }, additional_demands: { tags: [tag] } });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('failed');
    expect(run.error?.type).toBe('EXECUTOR_FAILED');
    expect(run.error?.message).toMatch(/2 of 2 checks failed: test, lint/);
    const result = run.result as PatrolResult;
    expect(result).toMatchObject({ passed: false, failed_checks: 2, failures: 2 });
    const [tests, lint] = result.checks;
    expect(tests).toMatchObject({ name: 'test', passed: false, exit_code: 1, counts: { failed: 1, passed: 2 } });
    expect(tests!.first_failures).toEqual(['divides by zero politely']);
    expect(lint).toMatchObject({ name: 'lint', passed: false, counts: { failed: 1 } });
    expect(lint!.first_failures[0]).toMatch(/^src\/app\.js:3:5: Unexpected var/);
    const alerts = await alertsOf(id, 2);
    // It ran in the run's own worktree, on the run's own branch, not in the project folder.
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    expect(body.events.find((event) => event.kind === 'state_changed' && event.data.phase === 'workspace_ready')?.data).toMatchObject({ mode: 'worktree', branch: `ao/${id}` });
    expect(alerts).toEqual([
      'patrol: test failed (1 failure, exit 1): divides by zero politely',
      expect.stringMatching(/^patrol: lint failed \(1 failure, exit 1\): src\/app\.js:3:5/),
    ]);
  });

  it('completes with every check passed and raises no alert', async () => {
    const id = await stack.postRun({
      agent: 'patrol',
      parameters: { checks: { test: ['node', '--test', '--test-reporter=tap', 'test/pass.test.mjs'] } },
      additional_demands: { tags: [tag] },
    });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ passed: true, failures: 0, checks: [{ name: 'test', passed: true, counts: { failed: 0, passed: 1 } }] });
    expect(await alertsOf(id)).toEqual([]);
  });

  it('refuses a check given as a shell string', async () => {
    const { status, body } = await stack.api<{ error: string }>('POST', '/runs', { body: { agent: 'patrol', parameters: { checks: { test: 'npm test && rm -rf /' } } } });
    expect(status).toBe(400);
    expect(body.error).toMatch(/parameters do not match/);
  });

  it('runs on a schedule: the scheduled run fails with the patrol’s alert, and the schedule shows the outcome', async () => {
    const created = await stack.api<ScheduleView>('POST', '/schedules', {
      body: { name: 'nightly-patrol', timing: { cron: '0 3 * * *' }, agent: 'patrol', parameters: { checks: PATROL_CHECKS }, additional_demands: { tags: [tag] } },
    });
    expect(created.status).toBe(201);
    expect((await stack.api('POST', '/schedules/nightly-patrol/trigger')).status).toBe(202);
    const view = await eventually(async () => {
      const { body } = await stack.api<ScheduleView>('GET', '/schedules/nightly-patrol');
      if (body.recent_runs[0]?.status !== 'failed') throw new Error(`recent runs: ${JSON.stringify(body.recent_runs)}`);
      return body;
    }, 60_000, 250);
    const runId = view.recent_runs[0]!.run_id;
    const run = (await stack.api<RunView>('GET', `/runs/${runId}`)).body;
    expect(run).toMatchObject({ status: 'failed', origin: 'schedule:nightly-patrol', result: { failed_checks: 2 } });
    expect(await alertsOf(runId, 2)).toHaveLength(2);
  });
});

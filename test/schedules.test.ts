import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import type { AuditEntry } from '../core/contract/identity.js';
import type { RunList, RunView } from '../core/contract/http.js';
import type { ScheduleView, ScheduleList } from '../core/contract/schedules.js';
import { scheduleId } from '../workflows/messages.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

let stack: TestStack;
let tag: string;
let viewerToken: string;

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('sched');
  await stack.startRunner({ tags: [tag] });
  const viewer = await stack.api<{ token: string }>('POST', '/tokens', { body: { name: 'schedule-viewer', role: 'viewer' } });
  expect(viewer.status).toBe(201);
  viewerToken = viewer.body.token;
});
afterAll(async () => {
  await stack?.stop();
});

const echoSchedule = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  timing: { interval_seconds: 3600 },
  agent: 'echo',
  prompt: `scheduled by ${name}`,
  additional_demands: { tags: [tag] },
  ...extra,
});

/** Waits until the schedule shows `count` recent runs that have all ended, and returns it. */
async function scheduleWithEndedRuns(name: string, count: number, timeoutMs = testTime(60_000)): Promise<ScheduleView> {
  return eventually(async () => {
    const { status, body } = await stack.api<ScheduleView>('GET', `/schedules/${name}`);
    if (status !== 200) throw new Error(`GET /schedules/${name} answered ${status}`);
    const ended = body.recent_runs.filter((run) => run.status === 'completed' || run.status === 'failed' || run.status === 'stopped');
    if (ended.length < count) throw new Error(`schedule ${name} has ${ended.length} ended runs: ${JSON.stringify(body.recent_runs)}`);
    return body;
  }, timeoutMs, 250);
}

/** `ao --json <args>` against the stack, with only PATH and the stack's URL and token from outside. */
function ao(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const home = stack.root;
    execFile(
      process.execPath,
      [path.join(repoRoot, 'bin', 'ao.js'), '--json', ...args],
      { cwd: home, env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'cli-config'), AO_DATA_DIR: path.join(home, 'cli-data'), AO_API_URL: stack.apiUrl, AO_API_TOKEN: stack.token } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('schedules', () => {
  it('starts a run from a cron schedule when its minute comes, with an id of its own and a link to the schedule', { timeout: testTime(150_000) }, async () => {
    const created = await stack.api<ScheduleView>('POST', '/schedules', { body: echoSchedule('every-minute', { timing: { cron: '* * * * *' } }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'every-minute', agent: 'echo', paused: false, overlap: 'skip', created_by: 'admin', timing: { cron: '* * * * *' } });
    expect(created.body.next_runs.length).toBeGreaterThan(0);
    const nextAt = Date.parse(created.body.next_runs[0]!);
    const view = await scheduleWithEndedRuns('every-minute', 1, testTime(120_000));
    const [run] = view.recent_runs;
    // `<schedule>-<time>`: the scheduler's `:` are gone, so it is a valid run id (and branch name).
    expect(run!.run_id).toMatch(/^every-minute-\d{8}T\d{6}Z$/);
    expect(Date.parse(run!.scheduled_at)).toBe(nextAt);
    expect(run!.status).toBe('completed');
    const detail = await stack.api<RunView>('GET', `/runs/${run!.run_id}`);
    expect(detail.body).toMatchObject({ status: 'completed', agent: 'echo', origin: 'schedule:every-minute' });
    expect(detail.body.history[0]!.by).toBe('schedule every-minute (admin)');
    await stack.api('DELETE', '/schedules/every-minute');
  });

  it('triggers a paused schedule now: each start is its own run, listed in GET /runs with its schedule', async () => {
    const created = await stack.api<ScheduleView>('POST', '/schedules', { body: echoSchedule('on-demand', { paused: true, note: 'only by hand' }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ paused: true, note: 'only by hand', recent_runs: [] });

    expect((await stack.api('POST', '/schedules/on-demand/trigger')).status).toBe(202);
    const first = await scheduleWithEndedRuns('on-demand', 1);
    // Starts are named by the second: the next one must come in a later second to get its own id.
    await eventually(() => {
      if (Date.now() - Date.parse(first.recent_runs[0]!.started_at) < 1100) throw new Error('same second');
    });
    expect((await stack.api('POST', '/schedules/on-demand/trigger')).status).toBe(202);
    const second = await scheduleWithEndedRuns('on-demand', 2);
    const ids = second.recent_runs.map((run) => run.run_id);
    expect(new Set(ids).size).toBe(2);
    expect(second.recent_runs.every((run) => run.status === 'completed')).toBe(true);

    const runs = await eventually(async () => {
      const { body } = await stack.api<RunList>('GET', '/runs?origin=schedule:on-demand');
      if (body.runs.length < 2) throw new Error(`${body.runs.length} runs listed`);
      return body.runs;
    });
    expect(runs.map((run) => run.id).sort()).toEqual([...ids].sort());
    expect(runs.every((run) => run.origin === 'schedule:on-demand')).toBe(true);
    for (const id of ids) {
      const run = await stack.api<RunView>('GET', `/runs/${id}`);
      // Each its own run: its own session and its own event log.
      expect(run.body.session_id).toBe(id);
      const events = await eventually(async () => {
        const { body } = await stack.api<{ events: Array<{ kind: string; run_id: string }> }>('GET', `/runs/${id}/events`);
        if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
        return body.events;
      });
      expect(events.every((event) => event.run_id === id)).toBe(true);
    }
  });

  it('changes, pauses, unpauses and deletes a schedule, each change attributed in the audit log', async () => {
    await stack.api('POST', '/schedules', { body: echoSchedule('lifecycle') });
    const changed = await stack.api<ScheduleView>('PATCH', '/schedules/lifecycle', { body: { timing: { cron: '0 3 * * *' }, overlap: 'buffer_one', prompt: null } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ timing: { cron: '0 3 * * *' }, overlap: 'buffer_one', updated_by: 'admin' });
    expect(changed.body.prompt).toBeUndefined();
    expect(new Date(changed.body.next_runs[0]!).getUTCHours()).toBe(3);

    expect((await stack.api<ScheduleView>('POST', '/schedules/lifecycle/pause', { body: { note: 'maintenance' } })).body).toMatchObject({ paused: true, note: 'maintenance' });
    expect((await stack.api<ScheduleView>('POST', '/schedules/lifecycle/unpause')).body.paused).toBe(false);
    // It is a Temporal Schedule: the Temporal UI and CLI see it.
    const described = await stack.client.schedule.getHandle(scheduleId('lifecycle')).describe();
    expect(described.spec.calendars?.length).toBe(1);

    const listed = await eventually(async () => {
      const { body } = await stack.api<ScheduleList>('GET', '/schedules');
      if (!body.schedules.some((schedule) => schedule.name === 'lifecycle')) throw new Error('not listed yet');
      return body;
    });
    expect(listed.schedules.find((schedule) => schedule.name === 'lifecycle')).toMatchObject({ overlap: 'buffer_one' });

    expect((await stack.api('DELETE', '/schedules/lifecycle')).status).toBe(204);
    expect((await stack.api('GET', '/schedules/lifecycle')).status).toBe(404);
    expect((await stack.api('DELETE', '/schedules/lifecycle')).status).toBe(404);
    expect((await stack.api('POST', '/schedules/lifecycle/trigger')).status).toBe(404);

    const audit = (await stack.api<{ entries: AuditEntry[] }>('GET', '/audit?limit=1000')).body.entries.filter((entry) => entry.target === 'lifecycle');
    expect(audit.map((entry) => entry.action)).toEqual(['schedule.create', 'schedule.update', 'schedule.pause', 'schedule.unpause', 'schedule.delete']);
    expect(audit.every((entry) => entry.actor === 'admin')).toBe(true);
  });

  it('are managed with the ao CLI: create from a file, list, trigger, show the run, pause, delete', async () => {
    const file = path.join(stack.root, 'cli-schedule.json');
    await fs.writeFile(file, JSON.stringify(echoSchedule('from-cli', { paused: true })));
    const created = await ao(['schedules', 'create', file]);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'from-cli', paused: true });
    expect((await ao(['schedules', 'trigger', 'from-cli'])).code).toBe(0);
    await scheduleWithEndedRuns('from-cli', 1);
    const shown = JSON.parse((await ao(['schedules', 'show', 'from-cli'])).stdout) as ScheduleView;
    expect(shown.recent_runs[0]?.status).toBe('completed');
    expect(shown.recent_runs[0]?.run_id).toMatch(/^from-cli-/);
    const listed = await eventually(async () => {
      const list = JSON.parse((await ao(['schedules'])).stdout) as ScheduleList;
      if (!list.schedules.some((schedule) => schedule.name === 'from-cli')) throw new Error('not listed yet');
      return list;
    });
    expect(listed.schedules.find((schedule) => schedule.name === 'from-cli')?.paused).toBe(true);
    expect(JSON.parse((await ao(['schedules', 'unpause', 'from-cli', '--note', 'go'])).stdout)).toMatchObject({ paused: false, note: 'go' });
    expect((await ao(['schedules', 'delete', 'from-cli'])).code).toBe(0);
    expect((await ao(['schedules', 'show', 'from-cli'])).code).not.toBe(0);
  });

  describe('refuses', () => {
    it('a viewer token trying to create, trigger or delete a schedule, and lets it read them', async () => {
      await stack.api('POST', '/schedules', { body: echoSchedule('guarded', { paused: true }) });
      const refused = await stack.api<{ error: string }>('POST', '/schedules', { body: echoSchedule('by-viewer'), token: viewerToken });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatch(/needs operator/);
      expect((await stack.api('POST', '/schedules/guarded/trigger', { token: viewerToken })).status).toBe(403);
      expect((await stack.api('DELETE', '/schedules/guarded', { token: viewerToken })).status).toBe(403);
      expect((await stack.api('PATCH', '/schedules/guarded', { body: { overlap: 'allow_all' }, token: viewerToken })).status).toBe(403);
      expect((await stack.api('GET', '/schedules/guarded', { token: viewerToken })).status).toBe(200);
      expect((await stack.api('GET', '/schedules/by-viewer')).status).toBe(404);
    });

    it('a bad cron expression, whether the edge or Temporal finds it', async () => {
      for (const cron of ['every day', '* * *', '* * * * * * * *', '61 * * * *', '* 25 * * *', '$(reboot) * * * *']) {
        const { status, body } = await stack.api<{ error: string }>('POST', '/schedules', { body: echoSchedule('bad-cron', { timing: { cron } }) });
        expect(status, `${cron}: ${JSON.stringify(body)}`).toBe(400);
      }
      expect((await stack.api('GET', '/schedules/bad-cron')).status).toBe(404);
    });

    it('a schedule that tries to set its runs’ run_id, or has no timing, or both timings', async () => {
      const withRunId = await stack.api<{ error: string; details: { problems: string[] } }>('POST', '/schedules', { body: echoSchedule('fixed-id', { run_id: 'always-the-same' }) });
      expect(withRunId.status).toBe(400);
      expect(JSON.stringify(withRunId.body.details)).toContain('run_id');
      // Smuggled among the parameters, it is checked against the agent's schema like any parameter.
      const inParameters = await stack.api<{ error: string }>('POST', '/schedules', { body: echoSchedule('fixed-id', { parameters: { run_id: 'x' } }) });
      expect(inParameters.status).toBe(400);
      expect(inParameters.body.error).toMatch(/parameters do not match/);
      expect((await stack.api('POST', '/schedules', { body: { ...echoSchedule('no-timing'), timing: {} } })).status).toBe(400);
      expect((await stack.api('POST', '/schedules', { body: echoSchedule('two-timings', { timing: { cron: '* * * * *', interval_seconds: 60 } }) })).status).toBe(400);
      expect((await stack.api('POST', '/schedules', { body: echoSchedule('too-fast', { timing: { interval_seconds: 1 } }) })).status).toBe(400);
    });

    it('a flow (not there yet), an unknown agent, a taken name and a bad name', async () => {
      const flow = await stack.api<{ error: string }>('POST', '/schedules', { body: { ...echoSchedule('a-flow'), agent: undefined, flow: 'release' } });
      expect(flow.status).toBe(400);
      expect(flow.body.error).toMatch(/flows/);
      expect((await stack.api('POST', '/schedules', { body: echoSchedule('ghost', { agent: 'no-such-agent' }) })).status).toBe(404);
      await stack.api('POST', '/schedules', { body: echoSchedule('taken', { paused: true }) });
      expect((await stack.api('POST', '/schedules', { body: echoSchedule('taken', { paused: true }) })).status).toBe(409);
      for (const name of ['../etc', 'UPPER', 'a'.repeat(41), 'dot.name']) {
        expect((await stack.api('POST', '/schedules', { body: echoSchedule(name) })).status, name).toBe(400);
      }
      expect((await stack.api('GET', `/schedules/${encodeURIComponent('../agents')}`)).status).toBe(400);
    });
  });
});

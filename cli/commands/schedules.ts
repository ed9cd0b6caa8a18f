import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { CreateScheduleRequest, ScheduleList, ScheduleTriggered, ScheduleView } from '../../core/contract/schedules.js';
import { contextOf } from '../context.js';
import { shortTime } from '../output.js';

const encode = encodeURIComponent;

const timingOf = (schedule: ScheduleView): string => (schedule.timing.cron ? `cron ${schedule.timing.cron}` : `every ${schedule.timing.interval_seconds}s`);

/** Schedules: list, show, create from a JSON file, pause, unpause, trigger, delete. */
export function registerScheduleCommands(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('list the schedules with their next run and last outcome')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const list = await client.get('/schedules', { schema: ScheduleList });
      if (out.json) return out.data(list);
      out.table(
        ['NAME', 'AGENT', 'WHEN', 'STATE', 'NEXT', 'LAST RUN', 'OUTCOME'],
        list.schedules.map((schedule) => [
          schedule.name,
          schedule.agent ?? '',
          timingOf(schedule),
          schedule.paused ? 'paused' : 'active',
          schedule.paused ? '' : shortTime(schedule.next_runs[0]),
          schedule.recent_runs[0]?.run_id ?? '',
          schedule.recent_runs[0]?.status ?? '',
        ]),
      );
    });
  schedules
    .command('show')
    .description('a schedule: its definition, next start times and recent runs')
    .argument('<name>', 'the schedule')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const schedule = await client.get(`/schedules/${encode(name)}`, { schema: ScheduleView });
      if (out.json) return out.data(schedule);
      out.text(`${schedule.name}: ${schedule.agent ?? ''}, ${timingOf(schedule)}, ${schedule.paused ? 'paused' : 'active'}, overlap ${schedule.overlap}`);
      out.text(`next: ${schedule.next_runs.map(shortTime).join(', ') || '—'}`);
      out.table(['RUN', 'STARTED', 'STATUS'], schedule.recent_runs.map((run) => [run.run_id, shortTime(run.started_at), run.status ?? '']));
    });
  schedules
    .command('create')
    .description('create a schedule from a JSON file (the POST /schedules body)')
    .argument('<file>', 'the schedule as JSON')
    .action(async (file: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const body = CreateScheduleRequest.parse(JSON.parse(await fs.readFile(file, 'utf8')));
      const created = await client.post('/schedules', { body, schema: ScheduleView });
      if (out.json) return out.data(created);
      out.text(`schedule "${created.name}" created; next run ${shortTime(created.next_runs[0])}`);
    });
  for (const action of ['pause', 'unpause'] as const) {
    schedules
      .command(action)
      .description(action === 'pause' ? 'pause a schedule: it starts nothing until unpaused' : 'unpause a schedule')
      .argument('<name>', 'the schedule')
      .option('--note <text>', 'why')
      .action(async (name: string, options: { note?: string }, command: Command) => {
        const { out, client } = contextOf(command);
        const schedule = await client.post(`/schedules/${encode(name)}/${action}`, { body: options.note ? { note: options.note } : {}, schema: ScheduleView });
        if (out.json) return out.data(schedule);
        out.text(`schedule "${name}" ${schedule.paused ? 'paused' : 'active'}`);
      });
  }
  schedules
    .command('trigger')
    .description('start a run of the schedule now (under its overlap policy)')
    .argument('<name>', 'the schedule')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      const triggered = await client.post(`/schedules/${encode(name)}/trigger`, { schema: ScheduleTriggered });
      if (out.json) return out.data(triggered);
      out.text(`schedule "${name}" triggered; its run shows in "ao schedules show ${name}"`);
    });
  schedules
    .command('delete')
    .description('delete a schedule; the runs it started go on')
    .argument('<name>', 'the schedule')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = contextOf(command);
      await client.delete(`/schedules/${encode(name)}`);
      if (out.json) return out.data({ deleted: name });
      out.text(`schedule "${name}" deleted`);
    });
}

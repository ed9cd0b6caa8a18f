import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { ErrorBody } from '../../core/contract/http.js';
import {
  CreateScheduleRequest,
  ScheduleList,
  ScheduleName,
  ScheduleNoteRequest,
  ScheduleTriggered,
  ScheduleView,
  UpdateScheduleRequest,
} from '../../core/contract/schedules.js';
import type { AuditLog } from '../audit-log.js';
import { ApiRoutes } from '../route.js';
import type { SchedulesService } from '../schedules-service.js';

const ScheduleParams = z.object({ name: ScheduleName });
const notFound = { description: 'no such schedule', schema: ErrorBody };
const scheduleAnswer = { description: 'the schedule', schema: ScheduleView };

/** Schedules: reading them needs a viewer, changing them an operator, as for runs (a schedule starts runs). */
export function schedulesRouter(schedules: SchedulesService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.post(
    '/schedules',
    {
      summary: 'Create a schedule that starts runs of an agent on a cron or an interval',
      access: 'operator',
      description:
        'A Temporal Schedule (it shows in the Temporal UI). The agent and parameters are checked as for `POST /runs`. Each start becomes a run with its own id `<schedule>-<time>`; a `run_id` is refused. `flow` is reserved for flows and refused until they exist.',
      body: CreateScheduleRequest,
      responses: {
        201: { description: 'the schedule was created', schema: ScheduleView },
        404: { description: 'no such agent', schema: ErrorBody },
        409: { description: 'a schedule of this name exists, or the agent is inactive', schema: ErrorBody },
        422: { description: 'the agent’s or its script’s file is broken', schema: ErrorBody },
      },
    },
    async ({ body, principal }) => {
      const view = await schedules.create(body, principal.name);
      audit.record(principal, 'schedule.create', body.name, { agent: body.agent, timing: body.timing, paused: body.paused });
      return { status: 201, body: view };
    },
  );

  routes.get('/schedules', { summary: 'List schedules with their next and recent runs', responses: { 200: { description: 'the schedules', schema: ScheduleList } } }, async () => ({
    body: { schedules: await schedules.list() },
  }));

  routes.get(
    '/schedules/:name',
    { summary: 'A schedule: its definition, next start times and recent runs with their outcomes', params: ScheduleParams, responses: { 200: scheduleAnswer, 404: notFound } },
    async ({ params }) => ({ body: await schedules.get(params.name) }),
  );

  routes.patch(
    '/schedules/:name',
    {
      summary: 'Change a schedule',
      access: 'operator',
      description: 'Any field but the name; `null` clears an optional one. The result is checked as on create. Runs already started are not changed.',
      params: ScheduleParams,
      body: UpdateScheduleRequest,
      responses: { 200: scheduleAnswer, 404: { description: 'no such schedule or agent', schema: ErrorBody }, 409: { description: 'the agent is inactive', schema: ErrorBody } },
    },
    async ({ params, body, principal }) => {
      const view = await schedules.update(params.name, body, principal.name);
      audit.record(principal, 'schedule.update', params.name, { fields: Object.keys(body) });
      return { body: view };
    },
  );

  for (const action of ['pause', 'unpause'] as const) {
    routes.post(
      `/schedules/:name/${action}`,
      {
        summary: action === 'pause' ? 'Pause a schedule: it starts nothing until unpaused' : 'Unpause a schedule',
        access: 'operator',
        params: ScheduleParams,
        body: ScheduleNoteRequest.optional(),
        responses: { 200: scheduleAnswer, 404: notFound },
      },
      async ({ params, body, principal }) => {
        const view = await schedules[action](params.name, body?.note);
        audit.record(principal, `schedule.${action}`, params.name, body?.note ? { note: body.note } : undefined);
        return { body: view };
      },
    );
  }

  routes.post(
    '/schedules/:name/trigger',
    {
      summary: 'Start a run of the schedule now',
      access: 'operator',
      description: 'Under the schedule’s overlap policy: with `skip`, nothing starts while its last run is still running. The run shows in `recent_runs` once Temporal has started it.',
      params: ScheduleParams,
      responses: { 202: { description: 'the start was asked for', schema: ScheduleTriggered }, 404: notFound },
    },
    async ({ params, principal }) => {
      await schedules.trigger(params.name);
      audit.record(principal, 'schedule.trigger', params.name);
      return { status: 202, body: { name: params.name, triggered: true as const } };
    },
  );

  routes.delete(
    '/schedules/:name',
    { summary: 'Delete a schedule; the runs it started go on', access: 'operator', params: ScheduleParams, responses: { 204: { description: 'deleted' }, 404: notFound } },
    async ({ params, principal }) => {
      await schedules.delete(params.name);
      audit.record(principal, 'schedule.delete', params.name);
      return { status: 204, body: undefined };
    },
  );

  return routes.router;
}

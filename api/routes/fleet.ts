import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { RunnerStatus } from '../../core/contract/fleet.js';
import { FleetOverview } from '../../core/contract/fleet-overview.js';
import { ErrorBody, ProfileList, RunnerList } from '../../core/contract/http.js';
import { RunnerId } from '../../core/contract/names.js';
import type { AuditLog } from '../audit-log.js';
import { ApiRoutes } from '../route.js';
import type { FleetService } from '../fleet-service.js';

const ListRunnersQuery = z
  .object({
    status: RunnerStatus.optional(),
    /** `true`: runners offline for longer than the drop-off time too. */
    all: z.enum(['true', 'false']).optional(),
  })
  .strict();
const RunnerParams = z.object({ id: RunnerId });

export function fleetRouter(fleet: FleetService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get(
    '/runners',
    {
      summary: 'Every registered runner with its status, load and scripts',
      description: 'Runners offline for longer than `AO_RUNNER_FORGET_AFTER_SECONDS` are left out unless `?all=true`.',
      query: ListRunnersQuery,
      responses: { 200: { description: 'the runners', schema: RunnerList } },
    },
    async ({ query }) => {
      const runners = await fleet.runners({ all: query.all === 'true' });
      return { body: { runners: query.status ? runners.filter((runner) => runner.status === query.status) : runners } };
    },
  );

  routes.delete(
    '/runners/:id',
    {
      summary: 'Forget an offline runner',
      access: 'admin',
      description: 'Ends the runner’s registration: it leaves every list. Should the runner come back, it registers afresh.',
      params: RunnerParams,
      responses: {
        204: { description: 'the runner was forgotten' },
        404: { description: 'no such runner (or it was forgotten already)', schema: ErrorBody },
        409: { description: 'the runner is not offline, or still holds runs', schema: ErrorBody },
      },
    },
    async ({ params, principal }) => {
      await fleet.forget(params.id, principal.name);
      audit.record(principal, 'runner.forget', params.id);
      return { status: 204, body: undefined };
    },
  );

  routes.get(
    '/fleet/overview',
    { summary: 'Runs by status, slots used and free, runs waiting per demand', responses: { 200: { description: 'the overview', schema: FleetOverview } } },
    async () => ({ body: await fleet.overview() }),
  );

  routes.get(
    '/profiles',
    { summary: 'The executor profiles (a broken file is listed with its error)', responses: { 200: { description: 'the profiles', schema: ProfileList } } },
    async () => ({ body: { profiles: await fleet.profiles() } }),
  );

  return routes.router;
}

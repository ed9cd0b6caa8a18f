import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { RunnerStatus } from '../../core/contract/fleet.js';
import { ProfileList, RunnerList } from '../../core/contract/http.js';
import { ApiRoutes } from '../route.js';
import type { FleetService } from '../fleet-service.js';

const ListRunnersQuery = z.object({ status: RunnerStatus.optional() }).strict();

export function fleetRouter(fleet: FleetService, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get(
    '/runners',
    { summary: 'Every registered runner with its status, load and scripts', query: ListRunnersQuery, responses: { 200: { description: 'the runners', schema: RunnerList } } },
    async ({ query }) => {
      const runners = await fleet.runners();
      return { body: { runners: query.status ? runners.filter((runner) => runner.status === query.status) : runners } };
    },
  );

  routes.get(
    '/profiles',
    { summary: 'The executor profiles (a broken file is listed with its error)', responses: { 200: { description: 'the profiles', schema: ProfileList } } },
    async () => ({ body: { profiles: await fleet.profiles() } }),
  );

  return routes.router;
}

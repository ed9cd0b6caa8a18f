import { Router } from 'express';
import { z } from 'zod';
import { RunnerStatus } from '../../core/contract/fleet.js';
import { route } from '../route.js';
import type { FleetService } from '../fleet-service.js';

const ListRunnersQuery = z.object({ status: RunnerStatus.optional() }).strict();

export function fleetRouter(fleet: FleetService): Router {
  const router = Router();

  router.get(
    '/runners',
    route({ query: ListRunnersQuery }, async ({ query }) => {
      const runners = await fleet.runners();
      return { body: { runners: query.status ? runners.filter((runner) => runner.status === query.status) : runners } };
    }),
  );

  router.get(
    '/profiles',
    route({}, async () => ({ body: { profiles: await fleet.profiles() } })),
  );

  return router;
}

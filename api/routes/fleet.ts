import { Router } from 'express';
import { z } from 'zod';
import { route } from '../route.js';
import type { FleetService } from '../fleet-service.js';

const ListRunnersQuery = z.object({ status: z.enum(['online', 'draining', 'unhealthy', 'offline']).optional() }).strict();

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

import { Router } from 'express';
import { z } from 'zod';
import { RunStatus, CreateRunRequest, Name } from '../../core/schemas.js';
import { route } from '../route.js';
import type { RunsService } from '../runs-service.js';

const RunParams = z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'not a run id') });
const CreateRunQuery = z.object({ wait: z.enum(['true', 'false']).optional() }).strict();
const ListRunsQuery = z
  .object({
    status: RunStatus.optional(),
    agent: Name.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

export function runsRouter(runs: RunsService): Router {
  const router = Router();

  router.post(
    '/runs',
    route({ body: CreateRunRequest, query: CreateRunQuery }, async ({ body, query }) => {
      const { id } = await runs.create(body);
      if (query.wait === 'true') return { status: 200, body: await runs.waitForEnd(id) };
      return { status: 201, body: { id, status: 'pending', url: `/runs/${id}` } };
    }),
  );

  router.get(
    '/runs',
    route({ query: ListRunsQuery }, async ({ query }) => ({ body: { runs: await runs.list(query) } })),
  );

  router.get(
    '/runs/:id',
    route({ params: RunParams }, async ({ params }) => ({ body: await runs.get(params.id) })),
  );

  return router;
}

import { Router } from 'express';
import { z } from 'zod';
import { RunId } from '../../core/contract/names.js';
import { CreateRunRequest, ListRunsQuery, StopRunRequest } from '../../core/contract/http.js';
import { SessionId } from '../../core/contract/names.js';
import type { AuditLog } from '../audit-log.js';
import { HttpError } from '../errors.js';
import { route } from '../route.js';
import type { RunSummary, RunsService } from '../runs-service.js';

const RunParams = z.object({ id: RunId });
const WaitQuery = z.object({ wait: z.enum(['true', 'false']).optional() }).strict();
const SessionParams = z.object({ id: SessionId });

interface SessionSummary {
  session_id: string;
  agent: string | undefined;
  runs: number;
  last_status: string | undefined;
  last_run_at: string;
}

export function runsRouter(runs: RunsService, audit: AuditLog): Router {
  const router = Router();

  router.post(
    '/runs',
    route({ access: 'operator', body: CreateRunRequest, query: WaitQuery }, async ({ body, query, principal }) => {
      const { id } = await runs.create(body, principal.name);
      audit.record(principal, 'run.start', id, { agent: body.agent });
      if (query.wait === 'true') return { status: 200, body: await runs.waitForEnd(id) };
      return { status: 201, body: { id, status: 'pending', url: `/runs/${id}` } };
    }),
  );

  router.get(
    '/runs',
    route({ query: ListRunsQuery }, async ({ query }) => ({ body: await runs.list(query) })),
  );

  router.get(
    '/runs/:id',
    route({ params: RunParams }, async ({ params }) => ({ body: await runs.get(params.id) })),
  );

  router.post(
    '/runs/:id/stop',
    route({ access: 'operator', params: RunParams, query: WaitQuery, body: StopRunRequest.optional() }, async ({ params, query, body, principal }) => {
      const accepted = await runs.stop(params.id, principal.name, body?.reason);
      audit.record(principal, 'run.stop', params.id, body?.reason ? { reason: body.reason } : undefined);
      if (query.wait === 'true') return { status: 200, body: await runs.waitForEnd(params.id) };
      return { status: 202, body: { id: params.id, ...accepted } };
    }),
  );

  router.get(
    '/sessions',
    route({ query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) }).strict() }, async ({ query }) => {
      // Sessions are not stored apart: they are the runs grouped by their session id.
      const { runs: recent } = await runs.list({ limit: query.limit });
      const sessions = new Map<string, SessionSummary>();
      for (const run of recent) {
        const id = run.session_id ?? run.id;
        const entry = sessions.get(id);
        if (entry) entry.runs += 1;
        else sessions.set(id, { session_id: id, agent: run.agent, runs: 1, last_status: run.status, last_run_at: run.started_at });
      }
      return { body: { sessions: [...sessions.values()] } };
    }),
  );

  router.get(
    '/sessions/:id',
    route({ params: SessionParams }, async ({ params }) => {
      const sessionRuns: RunSummary[] = await runs.sessionRuns(params.id);
      if (sessionRuns.length === 0) throw new HttpError(404, `session "${params.id}" does not exist`);
      return { body: { session_id: params.id, runs: sessionRuns } };
    }),
  );

  return router;
}

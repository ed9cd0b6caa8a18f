import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { RunId } from '../../core/contract/names.js';
import { EventBatch, type RunEvent } from '../../core/contract/events.js';
import type { EventAdmission } from '../event-admission.js';
import type { EventStore } from '../event-store.js';
import { route } from '../route.js';

const RunParams = z.object({ id: RunId });
const EventsQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(5000).default(1000),
  })
  .strict();

/** Keeps idle SSE connections open through proxies. */
const KEEPALIVE_MS = 15_000;

function writeEvent(res: Response, event: RunEvent): void {
  res.write(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
}

/** SSE: replays events after Last-Event-ID (or ?after=), then streams new ones as they are stored. */
async function streamEvents(store: EventStore, runId: string, req: Request, res: Response): Promise<void> {
  const lastEventId = Number(req.get('last-event-id') ?? EventsQuery.parse(req.query).after) || 0;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': connected\n\n');
  let sent = lastEventId;
  const backlog: RunEvent[] = [];
  let replaying = true;
  const unsubscribe = store.subscribe(runId, (event) => {
    if (replaying) backlog.push(event);
    else if (event.id > sent) {
      writeEvent(res, event);
      sent = event.id;
    }
  });
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  req.on('close', () => {
    unsubscribe();
    clearInterval(keepalive);
  });
  for (;;) {
    const page = await store.list(runId, sent, 1000);
    for (const event of page) writeEvent(res, event);
    if (page.length) sent = page.at(-1)!.id;
    if (page.length < 1000) break;
  }
  replaying = false;
  for (const event of backlog) {
    if (event.id > sent) {
      writeEvent(res, event);
      sent = event.id;
    }
  }
}

export function eventsRouter(store: EventStore, admission: EventAdmission): Router {
  const router = Router();

  router.post(
    '/internal/events',
    route({ access: 'runner', body: EventBatch }, async ({ body, principal }) => ({
      body: { stored: (await store.append(await admission.admit(principal, body.events))).length },
    })),
  );

  router.get('/runs/:id/events', async (req, res) => {
    const { id } = RunParams.parse(req.params);
    if (req.accepts(['application/json', 'text/event-stream']) === 'text/event-stream') return streamEvents(store, id, req, res);
    const query = EventsQuery.parse(req.query);
    const events = await store.list(id, query.after, query.limit);
    res.json({ events, next_after: events.length === query.limit ? events.at(-1)!.id : undefined });
  });

  return router;
}

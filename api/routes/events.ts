import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { EventBatchTooLargeError, EventTooLargeError } from '../../core/contract/errors.js';
import { EventBatch, EventBatchStored, MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH, type RunEvent, type RunEventInput } from '../../core/contract/events.js';
import { ErrorBody, TypedEventPage } from '../../core/contract/http.js';
import type { EventStore } from '../event-store.js';
import { JSON_MEDIA_TYPE } from '../openapi.js';
import { RUNNER_ROLE } from '../../core/contract/identity.js';
import type { EventAdmission } from '../event-admission.js';
import { ApiRoutes } from '../route.js';
import { RunParams } from './runs.js';
import type { ApiMetrics } from '../../core/observability/metrics.js';

const EventsQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(5000).default(1000),
  })
  .strict();

const EVENT_STREAM = 'text/event-stream';

/** Keeps idle SSE connections open through proxies. */
const KEEPALIVE_MS = 15_000;

function writeEvent(res: Response, event: RunEvent): void {
  res.write(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
}

/** SSE: replays events after Last-Event-ID (or ?after=), then streams new ones as they are stored. */
async function streamEvents(store: EventStore, runId: string, after: number, req: Request, res: Response): Promise<void> {
  const lastEventId = Number(req.get('last-event-id') ?? after) || 0;
  res.writeHead(200, { 'content-type': EVENT_STREAM, 'cache-control': 'no-cache', connection: 'keep-alive' });
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

/** Refuses, before anything is stored, a batch of too many events or with an event too large to keep. */
function checkBatchLimits(events: RunEventInput[]): void {
  if (events.length > MAX_EVENTS_PER_BATCH) throw new EventBatchTooLargeError(events.length, MAX_EVENTS_PER_BATCH);
  events.forEach((event, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(event));
    if (bytes > MAX_EVENT_BYTES) throw new EventTooLargeError(index, bytes, MAX_EVENT_BYTES);
  });
}

export function eventsRouter(store: EventStore, admission: EventAdmission, registry: OpenAPIRegistry, metrics?: Pick<ApiMetrics, 'eventsIngested'>): Router {
  const routes = new ApiRoutes(registry);

  routes.post(
    '/internal/events',
    {
      summary: 'A runner’s batch of run events',
      access: RUNNER_ROLE,
      description: `Stores each event not stored before (by run, \`source\` and \`seq\`), so a batch can be resent safely. Each event’s \`data\` must match its kind’s schema (\`RunEventOfKind\`; 400 naming the field otherwise). Events are accepted only for runs that were assigned to a runner registered with the caller’s credential, and are filed under its name (\`source\` is prefixed with it). A 200 means every event of the batch is durably stored; after any other answer none of them was newly stored, and the batch can be resent as it is. At most ${MAX_EVENTS_PER_BATCH} events a batch and ${MAX_EVENT_BYTES} bytes of JSON an event.`,
      body: EventBatch,
      responses: {
        200: { description: 'stored durably', schema: EventBatchStored },
        413: { description: 'too many events, or an event too large (`details.index` says which)', schema: ErrorBody },
        403: { description: 'a run of the batch was never assigned to this runner, or does not exist; nothing was stored', schema: ErrorBody },
      },
    },
    async ({ body, principal }) => {
      checkBatchLimits(body.events);
      const stored = await store.append(await admission.admit(principal, body.events));
      for (const event of stored) metrics?.eventsIngested.inc({ kind: event.kind });
      return { body: { stored: stored.length } };
    },
  );

  routes.get(
    '/runs/:id/events',
    {
      summary: 'A run’s events: a JSON page, or a live stream',
      description:
        'With `Accept: text/event-stream`, Server-Sent Events: what came after `Last-Event-ID` (or `after`), then new events as they are stored. Each SSE `id` is the event’s `id`.',
      params: RunParams,
      query: EventsQuery,
      responses: { 200: { description: 'the events after `after`, oldest first', schema: TypedEventPage, alsoAs: EVENT_STREAM } },
    },
    async ({ params, query }, req, res) => {
      if (req.accepts([JSON_MEDIA_TYPE, EVENT_STREAM]) === EVENT_STREAM) {
        await streamEvents(store, params.id, query.after, req, res);
        return undefined;
      }
      const events = await store.list(params.id, query.after, query.limit);
      return { body: { events, next_after: events.length === query.limit ? events.at(-1)!.id : undefined } };
    },
  );

  return routes.router;
}

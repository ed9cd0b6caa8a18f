import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { ErrorBody } from '../../core/contract/http.js';
import { Name } from '../../core/contract/names.js';
import {
  CreateTriggerRequest,
  DELIVERY_HEADER,
  Delivery,
  DeliveryId,
  DeliveryList,
  EVENT_HEADER,
  EventName,
  MAX_TRIGGER_BODY_BYTES,
  SIGNATURE_HEADER,
  TriggerList,
  TriggerView,
  UpdateTriggerRequest,
  WebhookPayload,
} from '../../core/contract/triggers.js';
import type { AuditLog } from '../audit-log.js';
import { HttpError } from '../errors.js';
import { rawBodyOf } from '../json-body.js';
import { ApiRoutes } from '../route.js';
import type { TriggersService } from '../triggers-service.js';

const TriggerParams = z.object({ name: Name });
const notFound = { description: 'no such trigger', schema: ErrorBody };

/**
 * `POST /triggers/:name`: public (a forge cannot send ao's token) and authenticated by the
 * delivery's signature instead. Mounted before the token check.
 */
export function triggerHooksRouter(triggers: TriggersService, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);
  routes.post(
    '/triggers/:name',
    {
      summary: 'Receive a webhook delivery (GitHub format) and start the run its trigger maps it to',
      public: true,
      description: [
        `Needs \`${SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body under the trigger's secret>\`, \`${EVENT_HEADER}\` and \`${DELIVERY_HEADER}\`; the body is JSON (set the hook's content type to application/json), at most ${MAX_TRIGGER_BODY_BYTES} bytes.`,
        'A missing or wrong signature is a 401 and starts nothing. A redelivery (same delivery id) starts nothing new: the delivery id is part of the run id.',
      ].join('\n\n'),
      params: TriggerParams,
      body: WebhookPayload,
      responses: {
        201: { description: 'a run was started', schema: Delivery },
        200: { description: 'nothing new started: a redelivery (`duplicate`) or no rule matched (`ignored`)', schema: Delivery },
        401: { description: 'missing or wrong signature', schema: ErrorBody },
        404: { description: 'no such trigger, or no such agent for the matching rule', schema: ErrorBody },
        409: { description: 'the matching rule’s agent is inactive', schema: ErrorBody },
        413: { description: 'the body is larger than a trigger reads', schema: ErrorBody },
        422: { description: 'the trigger’s file, or its agent’s, is broken', schema: ErrorBody },
      },
    },
    async ({ params, body }, req) => {
      const raw = rawBodyOf(req);
      if (!raw) throw new HttpError(415, 'send the delivery as JSON (Content-Type: application/json)');
      if (raw.length > MAX_TRIGGER_BODY_BYTES) throw new HttpError(413, `a trigger reads bodies of at most ${MAX_TRIGGER_BODY_BYTES} bytes`);
      const event = EventName.safeParse(req.get(EVENT_HEADER));
      const deliveryId = DeliveryId.safeParse(req.get(DELIVERY_HEADER));
      const delivery = await triggers.deliver(params.name, { event: event.data ?? '', deliveryId: deliveryId.data ?? '', body: raw, payload: body }, req.get(SIGNATURE_HEADER), () => {
        // Checked only once the signature is good, so an unsigned request learns nothing of the headers it needs.
        if (!event.success) throw new HttpError(400, `${EVENT_HEADER} must name the event (push, pull_request, …)`);
        if (!deliveryId.success) throw new HttpError(400, `${DELIVERY_HEADER} must be the delivery's id (letters, digits, "-")`);
      });
      return { status: delivery.outcome === 'started' ? 201 : 200, body: delivery };
    },
  );
  return routes.router;
}

/** Managing triggers: as for agents, reading needs a viewer and changing an admin (a trigger holds a secret and starts runs). */
export function triggersRouter(triggers: TriggersService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get('/triggers', { summary: 'Every trigger, without its secret (a broken one is listed with its error)', responses: { 200: { description: 'the triggers', schema: TriggerList } } }, async () => ({
    body: { triggers: await triggers.list() },
  }));

  routes.get(
    '/triggers/:name',
    { summary: 'A trigger, without its secret', params: TriggerParams, responses: { 200: { description: 'the trigger', schema: TriggerView }, 404: notFound, 422: { description: 'its file is broken', schema: ErrorBody } } },
    async ({ params }) => ({ body: await triggers.get(params.name) }),
  );

  routes.post(
    '/triggers',
    {
      summary: 'Create a webhook trigger',
      access: 'admin',
      description: 'Its `secret` is write-only: never answered, kept in `config/triggers/<name>.json` (mode 0600).',
      body: CreateTriggerRequest,
      responses: { 201: { description: 'the trigger, without its secret', schema: TriggerView }, 409: { description: 'a trigger of this name exists', schema: ErrorBody } },
    },
    async ({ body, principal }) => {
      const view = await triggers.create(body);
      audit.record(principal, 'trigger.create', body.name, { rules: body.rules.length });
      return { status: 201, body: view };
    },
  );

  routes.patch(
    '/triggers/:name',
    {
      summary: 'Change a trigger (a new secret replaces the old one)',
      access: 'admin',
      params: TriggerParams,
      body: UpdateTriggerRequest,
      responses: { 200: { description: 'the trigger, without its secret', schema: TriggerView }, 404: notFound, 422: { description: 'its file is broken', schema: ErrorBody } },
    },
    async ({ params, body, principal }) => {
      const view = await triggers.update(params.name, body);
      // The fields changed, never their values: one may be the secret.
      audit.record(principal, 'trigger.update', params.name, { fields: Object.keys(body) });
      return { body: view };
    },
  );

  routes.delete(
    '/triggers/:name',
    { summary: 'Delete a trigger; its deliveries’ runs go on', access: 'admin', params: TriggerParams, responses: { 204: { description: 'deleted' }, 404: notFound } },
    async ({ params, principal }) => {
      await triggers.delete(params.name);
      audit.record(principal, 'trigger.delete', params.name);
      return { status: 204, body: undefined };
    },
  );

  routes.get(
    '/triggers/:name/deliveries',
    {
      summary: 'The trigger’s signed deliveries, newest first, each with what it started',
      params: TriggerParams,
      responses: { 200: { description: 'the deliveries', schema: DeliveryList }, 404: notFound, 422: { description: 'its file is broken', schema: ErrorBody } },
    },
    async ({ params }) => ({ body: { deliveries: await triggers.listDeliveries(params.name) } }),
  );

  return routes.router;
}

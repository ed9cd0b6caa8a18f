import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { ErrorBody } from '../../core/contract/http.js';
import { Name } from '../../core/contract/names.js';
import { CreateNotificationRequest, DeliveryList, NotificationList, NotificationView, UpdateNotificationRequest } from '../../core/contract/notifications.js';
import type { AuditLog } from '../audit-log.js';
import type { NotificationsService } from '../notifications-service.js';
import { ApiRoutes } from '../route.js';

const NameParams = z.object({ name: Name });
const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

const notFound = { 404: { description: 'no such notification', schema: ErrorBody } };
const brokenFile = { 422: { description: 'the stored file is broken', schema: ErrorBody } };
const SECRET_NOTE = 'The secret is write-only: no answer contains it (`has_secret` says one is set).';

/** Notifications, managed like agents: anyone reads them (never the secret), admins change them. */
export function notificationsRouter(notifications: NotificationsService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get(
    '/notifications',
    { summary: 'Every notification (a broken one is listed with its error)', description: SECRET_NOTE, responses: { 200: { description: 'the notifications', schema: NotificationList } } },
    async () => ({ body: { notifications: await notifications.list() } }),
  );
  routes.get(
    '/notifications/:name',
    { summary: 'One notification', description: SECRET_NOTE, params: NameParams, responses: { 200: { description: 'the notification', schema: NotificationView }, ...notFound, ...brokenFile } },
    async ({ params }) => ({ body: await notifications.get(params.name) }),
  );
  routes.post(
    '/notifications',
    {
      summary: 'Create a notification (an outgoing webhook)',
      description: SECRET_NOTE,
      access: 'admin',
      body: CreateNotificationRequest,
      responses: { 201: { description: 'the notification as stored', schema: NotificationView }, 409: { description: 'a notification of that name exists', schema: ErrorBody } },
    },
    async ({ body, principal }) => {
      const created = await notifications.create(body);
      audit.record(principal, 'notification.create', created.name);
      return { status: 201, body: created };
    },
  );
  routes.patch(
    '/notifications/:name',
    {
      summary: 'Change some fields of a notification; a secret sent replaces the stored one',
      description: SECRET_NOTE,
      access: 'admin',
      params: NameParams,
      body: UpdateNotificationRequest,
      responses: { 200: { description: 'the notification as stored', schema: NotificationView }, ...notFound, ...brokenFile },
    },
    async ({ params, body, principal }) => {
      const updated = await notifications.update(params.name, body);
      // Which fields changed, never their values: one of them may be the secret.
      audit.record(principal, 'notification.update', params.name, { fields: Object.keys(body).sort() });
      return { body: updated };
    },
  );
  routes.delete(
    '/notifications/:name',
    { summary: 'Delete a notification; its pending deliveries give up', access: 'admin', params: NameParams, responses: { 204: { description: 'deleted' }, ...notFound } },
    async ({ params, principal }) => {
      await notifications.delete(params.name);
      audit.record(principal, 'notification.delete', params.name);
      return { status: 204, body: undefined };
    },
  );
  routes.get(
    '/notifications/:name/deliveries',
    {
      summary: 'The newest deliveries to a notification, with their outcome (attempts, last status code or error)',
      params: NameParams,
      query: DeliveriesQuery,
      responses: { 200: { description: 'the deliveries, newest first', schema: DeliveryList }, ...notFound, ...brokenFile },
    },
    async ({ params, query }) => ({ body: { deliveries: await notifications.deliveries(params.name, query.limit) } }),
  );

  return routes.router;
}

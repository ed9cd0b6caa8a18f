import { z } from 'zod';
import { BrokenFile } from './http.js';
import { Name, Tag } from './names.js';

/**
 * Notifications: outgoing webhooks, `config/notifications/<name>.json`. ao POSTs a signed JSON
 * body to the URL when a run it matches needs a person or ends. The secret is write-only.
 */

export const NOTIFICATION_EVENTS = [
  /** A tool use of a supervised run waits for a person. */
  'approval_requested',
  /** A run completed. */
  'run.completed',
  /** A run failed (executor error, timeout, no runner, runner lost). */
  'run.failed',
  /** A run was stopped on request. */
  'run.stopped',
] as const;
export const NotificationEvent = z.enum(NOTIFICATION_EVENTS);
export type NotificationEvent = z.infer<typeof NotificationEvent>;

/** Headers of every delivery, each defined once (receivers read them; the README documents them). */
export const SIGNATURE_HEADER = 'X-Ao-Signature-256';
export const SIGNATURE_PREFIX = 'sha256=';
export const DELIVERY_HEADER = 'X-Ao-Delivery';
export const EVENT_HEADER = 'X-Ao-Event';

/** Only plain web URLs: no other scheme, and no credentials in them (they would be shown to every viewer). */
export const WebhookUrl = z
  .string()
  .max(2048)
  .refine((value) => URL.canParse(value), 'not a URL')
  .refine((value) => !URL.canParse(value) || ['http:', 'https:'].includes(new URL(value).protocol), 'the URL must be http:// or https://')
  .refine((value) => !URL.canParse(value) || (!new URL(value).username && !new URL(value).password), 'put no credentials in the URL: the secret signs each delivery');

export const NotificationSecret = z.string().min(16, 'the secret must be at least 16 characters').max(256);

const NotificationFields = z.object({
  name: Name,
  description: z.string().max(500).default(''),
  url: WebhookUrl,
  /** The events it is sent for. */
  events: z.array(NotificationEvent).min(1, 'name at least one event').max(NOTIFICATION_EVENTS.length),
  /** Only runs of these agents; unset or empty: every agent. */
  agents: z.array(Name).max(100).optional(),
  /** Only runs that demand one of these tags; unset or empty: every run. */
  tags: z.array(Tag).max(100).optional(),
  enabled: z.boolean().default(true),
});

/** The file as stored, with its secret. Never an API answer. */
export const Notification = NotificationFields.extend({ secret: NotificationSecret }).strict();
export type Notification = z.infer<typeof Notification>;

/** A notification as the API shows it: everything but the secret. */
export const NotificationView = NotificationFields.extend({ has_secret: z.literal(true) }).meta({ id: 'Notification' });
export type NotificationView = z.infer<typeof NotificationView>;

export const toNotificationView = ({ secret: _secret, ...rest }: Notification): NotificationView => ({ ...rest, has_secret: true });

export const CreateNotificationRequest = Notification.meta({ id: 'CreateNotificationRequest' });
export type CreateNotificationRequest = z.infer<typeof CreateNotificationRequest>;

/** `PATCH /notifications/:name`: any field but the name (absent: left as stored, so no defaults); a secret sent replaces the stored one. */
export const UpdateNotificationRequest = z
  .object({
    description: z.string().max(500),
    url: WebhookUrl,
    events: NotificationFields.shape.events,
    agents: NotificationFields.shape.agents.unwrap(),
    tags: NotificationFields.shape.tags.unwrap(),
    enabled: z.boolean(),
    secret: NotificationSecret,
  })
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'nothing to change: send the fields to set')
  .meta({ id: 'UpdateNotificationRequest' });
export type UpdateNotificationRequest = z.infer<typeof UpdateNotificationRequest>;

export const NotificationList = z.object({ notifications: z.array(z.union([NotificationView, BrokenFile])) }).meta({ id: 'NotificationList' });
export type NotificationList = z.infer<typeof NotificationList>;

export const DELIVERY_STATUSES = [
  /** Not yet accepted by the receiver; another attempt is due. */
  'pending',
  /** The receiver answered 2xx. */
  'delivered',
  /** Given up: a 4xx other than 408/429, the attempts ran out, or the notification is gone or disabled. */
  'failed',
] as const;
export const DeliveryStatus = z.enum(DELIVERY_STATUSES);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** One delivery of one event to one notification, with its outcome so far. */
export const Delivery = z
  .object({
    /** The `X-Ao-Delivery` header: the same on every attempt. */
    id: z.string(),
    notification: Name,
    event: NotificationEvent,
    run_id: z.string(),
    status: DeliveryStatus,
    attempts: z.number().int().min(0),
    /** The receiver's status code on the last attempt, when it answered. */
    last_status_code: z.number().int().optional(),
    /** Why the last attempt failed. */
    last_error: z.string().optional(),
    last_attempt_at: z.string().optional(),
    next_attempt_at: z.string().optional(),
    created_at: z.string(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryList = z.object({ deliveries: z.array(Delivery) }).meta({ id: 'DeliveryList' });
export type DeliveryList = z.infer<typeof DeliveryList>;

/** The run as a delivery's body shows it. */
export interface NotifiedRun {
  id: string;
  agent: string;
  status: string;
  tags: string[];
  reason?: string;
  error?: { type: string; message: string };
  runner_id?: string;
  created_at: string;
}

/** The approval an `approval_requested` delivery is about. */
export interface NotifiedApproval {
  id: string;
  tool: string;
  command?: string;
  files?: string[];
  rule: string;
  expires_at: string;
}

/** One event of a run, as the run workflow hands it to the notify workflow. */
export interface NotifyInput {
  event: NotificationEvent;
  occurred_at: string;
  run: NotifiedRun;
  approval?: NotifiedApproval;
}

/** A delivery's JSON body; it is signed byte for byte as sent. */
export interface DeliveryBody extends NotifyInput {
  delivery_id: string;
  notification: string;
}

/** Whether a notification takes this event of a run of `agent` demanding `tags`. */
export function notificationMatches(notification: Pick<Notification, 'enabled' | 'events' | 'agents' | 'tags'>, event: NotificationEvent, agent: string, tags: string[]): boolean {
  if (!notification.enabled || !notification.events.includes(event)) return false;
  if (notification.agents?.length && !notification.agents.includes(agent)) return false;
  if (notification.tags?.length && !notification.tags.some((tag) => tags.includes(tag))) return false;
  return true;
}

import type { Client } from '@temporalio/client';
import { deleteNotification, listNotifications, loadNotification, saveNotification } from '../core/config/notifications.js';
import { ConfigConflictError, NotificationNotFoundError } from '../core/contract/errors.js';
import {
  Delivery,
  Notification,
  toNotificationView,
  type CreateNotificationRequest,
  type NotificationList,
  type NotificationView,
  type UpdateNotificationRequest,
} from '../core/contract/notifications.js';
import { searchAttributes, visibility } from '../core/contract/search-attributes.js';
import { DELIVERIES_MEMO, NOTIFY_WORKFLOW_TYPE } from '../workflows/messages.js';
import type { ConfigLock } from './config-lock.js';

/** Notifications: files under the config dir, shown without their secret; their deliveries are notify workflows. */
export class NotificationsService {
  constructor(private readonly client: Client, private readonly configDir: string, private readonly lock: ConfigLock) {}

  async list(): Promise<NotificationList['notifications']> {
    return (await listNotifications(this.configDir)).map((entry) => ('error' in entry ? entry : toNotificationView(entry)));
  }

  async get(name: string): Promise<NotificationView> {
    return toNotificationView(await loadNotification(this.configDir, name));
  }

  create(request: CreateNotificationRequest): Promise<NotificationView> {
    return this.lock.run(async () => {
      const exists = await loadNotification(this.configDir, request.name).then(
        () => true,
        (error: unknown) => !(error instanceof NotificationNotFoundError),
      );
      if (exists) throw new ConfigConflictError(`notification "${request.name}" already exists; change it with PATCH /notifications/${request.name}`);
      return toNotificationView(await saveNotification(this.configDir, request));
    });
  }

  /** Applies the given fields (a secret sent replaces the stored one); the result is validated whole (a ZodError is a 400). */
  update(name: string, changes: UpdateNotificationRequest): Promise<NotificationView> {
    return this.lock.run(async () => {
      const parsed = Notification.safeParse({ ...(await loadNotification(this.configDir, name)), ...changes, name });
      if (!parsed.success) throw parsed.error;
      return toNotificationView(await saveNotification(this.configDir, parsed.data));
    });
  }

  delete(name: string): Promise<void> {
    return this.lock.run(() => deleteNotification(this.configDir, name));
  }

  /** The newest deliveries to a notification, from the memos of the notify workflows that deliver to it. */
  async deliveries(name: string, limit: number): Promise<Delivery[]> {
    await loadNotification(this.configDir, name);
    const query = visibility.allOf(visibility.workflowTypeIs(NOTIFY_WORKFLOW_TYPE), visibility.attributeIs(searchAttributes.notifications, name));
    const deliveries: Delivery[] = [];
    for await (const execution of this.client.workflow.list({ query, pageSize: limit })) {
      const recorded = execution.memo?.[DELIVERIES_MEMO];
      for (const entry of Array.isArray(recorded) ? recorded : []) {
        const parsed = Delivery.safeParse(entry);
        if (parsed.success && parsed.data.notification === name) deliveries.push(parsed.data);
      }
      if (deliveries.length >= limit) break;
    }
    return deliveries.sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, limit);
  }
}

import { NotificationNotFoundError } from '../contract/errors.js';
import { Notification } from '../contract/notifications.js';
import { readSecretConfig, removeSecretConfig, secretConfigNames, writeSecretConfig } from './secret-files.js';

/** Notifications live as files, `config/notifications/<name>.json`; each holds a secret, so only its owner may read it. */
const KIND = 'notifications';
const notFound = (name: string) => () => new NotificationNotFoundError(name);

export function loadNotification(configDir: string, name: string): Promise<Notification> {
  return readSecretConfig(configDir, KIND, name, Notification, notFound(name));
}

export type NotificationListing = Notification | { name: string; error: string };

/** Every notification; a broken one is listed with its error and never hides the others. */
export async function listNotifications(configDir: string): Promise<NotificationListing[]> {
  const names = await secretConfigNames(configDir, KIND);
  return Promise.all(
    names.map((name) => loadNotification(configDir, name).catch((error: unknown): NotificationListing => ({ name, error: error instanceof Error ? error.message : String(error) }))),
  );
}

export function saveNotification(configDir: string, notification: Notification): Promise<Notification> {
  return writeSecretConfig(configDir, KIND, notification);
}

export function deleteNotification(configDir: string, name: string): Promise<void> {
  return removeSecretConfig(configDir, KIND, name, notFound(name));
}

import fs from 'node:fs/promises';
import path from 'node:path';
import { Name } from '../contract/names.js';
import { InvalidConfigFileError, NotificationNotFoundError, describeIssues } from '../contract/errors.js';
import { Notification } from '../contract/notifications.js';
import { writeFileAtomically } from './files.js';

/** Notifications live as files, `config/notifications/<name>.json`; each holds a secret, so only its owner may read it. */
const SECRET_FILE_MODE = 0o600;

function notificationFile(configDir: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(configDir, 'notifications', `${Name.parse(name)}.json`);
}

export async function loadNotification(configDir: string, name: string): Promise<Notification> {
  if (!Name.safeParse(name).success) throw new NotificationNotFoundError(name);
  const file = notificationFile(configDir, name);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotificationNotFoundError(name);
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text around the error, which may be the secret.
    throw new InvalidConfigFileError(file, ['not valid JSON']);
  }
  const parsed = Notification.safeParse({ name, ...(raw as object) });
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  if (parsed.data.name !== name) throw new InvalidConfigFileError(file, [`name "${parsed.data.name}" differs from its file "${name}.json"`]);
  return parsed.data;
}

export type NotificationListing = Notification | { name: string; error: string };

/** Every notification; a broken one is listed with its error and never hides the others. */
export async function listNotifications(configDir: string): Promise<NotificationListing[]> {
  const entries = await fs.readdir(path.join(configDir, 'notifications')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const names = entries.filter((entry) => entry.endsWith('.json')).map((entry) => entry.slice(0, -'.json'.length)).filter((name) => Name.safeParse(name).success).sort();
  return Promise.all(
    names.map((name) => loadNotification(configDir, name).catch((error: unknown): NotificationListing => ({ name, error: error instanceof Error ? error.message : String(error) }))),
  );
}

export async function saveNotification(configDir: string, notification: Notification): Promise<Notification> {
  const file = notificationFile(configDir, notification.name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomically(file, `${JSON.stringify(notification, null, 2)}\n`, SECRET_FILE_MODE);
  return notification;
}

export async function deleteNotification(configDir: string, name: string): Promise<void> {
  if (!Name.safeParse(name).success) throw new NotificationNotFoundError(name);
  await fs.rm(notificationFile(configDir, name)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new NotificationNotFoundError(name);
    throw error;
  });
}

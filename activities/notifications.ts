import { loadNotification, listNotifications } from '../core/config/notifications.js';
import { NotificationNotFoundError } from '../core/contract/errors.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, notificationMatches, type NotificationEvent } from '../core/contract/notifications.js';
import { signBody } from '../core/notifications/signature.js';

/** How long a receiver has to answer one attempt. */
const REQUEST_TIMEOUT_MS = 10_000;
/** What of an error answer is kept for the delivery list. */
const MAX_ERROR_CHARS = 300;

/** One attempt's outcome; the notify workflow decides on the next attempt from it. */
export interface AttemptOutcome {
  delivered: boolean;
  /** Worth another attempt: a 5xx, 408, 429, or no answer at all. */
  retryable: boolean;
  status_code?: number;
  error?: string;
}

/** A 4xx other than 408 (timeout) and 429 (slow down) says the request itself is wrong: sending it again will not help. */
export const isRetryableStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/**
 * Activities of notifications, on the control worker: which notifications take an event, and one
 * attempt to deliver it. The secret is read here, at send time, so it is never in a workflow's history.
 */
export function createNotificationActivities({ configDir }: { configDir: string }) {
  return {
    /** The names of the notifications that take this event of a run; broken files are skipped. */
    async matchNotifications({ event, agent, tags }: { event: NotificationEvent; agent: string; tags: string[] }): Promise<string[]> {
      const listed = await listNotifications(configDir);
      return listed.filter((entry) => !('error' in entry) && notificationMatches(entry, event, agent, tags)).map((entry) => entry.name);
    },

    /** One attempt: POST the body, signed with the notification's current secret, to its current URL. */
    async sendNotification({ notification: name, delivery_id, event, body }: { notification: string; delivery_id: string; event: NotificationEvent; body: string }): Promise<AttemptOutcome> {
      const notification = await loadNotification(configDir, name).catch((error: unknown) => error as Error);
      if (notification instanceof Error) {
        return { delivered: false, retryable: false, error: notification instanceof NotificationNotFoundError ? 'the notification was deleted' : notification.message };
      }
      if (!notification.enabled) return { delivered: false, retryable: false, error: 'the notification is disabled' };
      let response: Response;
      try {
        response = await fetch(notification.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'ao-notifications',
            [SIGNATURE_HEADER]: signBody(notification.secret, body),
            [DELIVERY_HEADER]: delivery_id,
            [EVENT_HEADER]: event,
          },
          body,
          // A redirect is not followed: the signed body would go where the notification does not say.
          redirect: 'manual',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        return { delivered: false, retryable: true, error: transportError(error) };
      }
      const text = await response.text().catch(() => '');
      if (response.status >= 200 && response.status < 300) return { delivered: true, retryable: false, status_code: response.status };
      const detail = text.trim().slice(0, MAX_ERROR_CHARS);
      const redirect = response.status >= 300 && response.status < 400;
      return {
        delivered: false,
        retryable: !redirect && isRetryableStatus(response.status),
        status_code: response.status,
        error: redirect ? `the receiver redirected (${response.status}); redirects are not followed` : `the receiver answered ${response.status}${detail ? `: ${detail}` : ''}`,
      };
    },
  };
}

/** Why no answer came: the socket error's code when there is one (fetch's own message is only "fetch failed"). */
function transportError(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

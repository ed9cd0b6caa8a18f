import crypto from 'node:crypto';
import { SIGNATURE_PREFIX } from '../contract/notifications.js';

/** The `X-Ao-Signature-256` value of a body: HMAC-SHA256 with the notification's secret over the exact bytes sent. */
export function signBody(secret: string, body: string): string {
  return `${SIGNATURE_PREFIX}${crypto.createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}


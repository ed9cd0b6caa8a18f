import { ActivityFailure, proxyActivities, sleep, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createNotificationActivities } from '../activities/notifications.js';
import type { Delivery, DeliveryBody, NotifyInput } from '../core/contract/notifications.js';
import { searchAttributes } from '../core/contract/search-attributes.js';
import { DELIVERIES_MEMO, deliveryId } from './messages.js';

type NotificationActivities = ReturnType<typeof createNotificationActivities>;

/**
 * Attempts of one delivery: the first at once, then after 1 s, 2 s, 4 s … at most 10 min apart,
 * ten in all (about 17 minutes). Each attempt is one activity; the backoff is a durable timer here,
 * so every attempt's outcome is in the delivery list while it is still being retried.
 */
const DELIVERY_RETRY = { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 10 * 60_000, maximumAttempts: 10 } as const;

const { matchNotifications } = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' },
});
// One HTTP request; this workflow retries it (an attempt must be recorded, not hidden in a retry policy).
const { sendNotification } = proxyActivities<NotificationActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });

/**
 * One event of a run, delivered to every notification that takes it. Started by the run workflow
 * as an abandoned child whose id comes from the run and the event, so an event starts it once;
 * it outlives the run and any API restart. The deliveries are in its memo, which the API lists.
 */
export async function notifyWorkflow(input: NotifyInput): Promise<Delivery[]> {
  const names = await matchNotifications({ event: input.event, agent: input.run.agent, tags: input.run.tags });
  if (names.length === 0) return [];
  upsertSearchAttributes([{ key: searchAttributes.notifications, value: names }]);
  const now = new Date().toISOString();
  const deliveries: Delivery[] = names.map((name) => ({
    id: deliveryId(workflowInfo().workflowId, name),
    notification: name,
    event: input.event,
    run_id: input.run.id,
    status: 'pending',
    attempts: 0,
    created_at: now,
  }));
  const publish = (): void => upsertMemo({ [DELIVERIES_MEMO]: deliveries });
  publish();
  await Promise.all(deliveries.map((delivery) => deliver(delivery, input, publish)));
  return deliveries;
}

async function deliver(delivery: Delivery, input: NotifyInput, publish: () => void): Promise<void> {
  // Built once: every attempt sends the same bytes, so the same signature.
  const body: DeliveryBody = { delivery_id: delivery.id, notification: delivery.notification, ...input };
  const text = JSON.stringify(body);
  let interval: number = DELIVERY_RETRY.initialIntervalMs;
  for (;;) {
    const outcome = await sendNotification({ notification: delivery.notification, delivery_id: delivery.id, event: input.event, body: text }).catch((error: unknown) => ({
      delivered: false,
      retryable: true,
      status_code: undefined,
      error: `the attempt failed: ${error instanceof ActivityFailure && error.cause ? error.cause.message : String(error)}`,
    }));
    delivery.attempts += 1;
    delivery.last_attempt_at = new Date().toISOString();
    delete delivery.next_attempt_at;
    if (outcome.status_code !== undefined) delivery.last_status_code = outcome.status_code;
    else delete delivery.last_status_code;
    if (outcome.delivered) {
      delivery.status = 'delivered';
      delete delivery.last_error;
      publish();
      return;
    }
    delivery.last_error = outcome.error ?? 'not delivered';
    if (!outcome.retryable || delivery.attempts >= DELIVERY_RETRY.maximumAttempts) {
      delivery.status = 'failed';
      if (outcome.retryable) delivery.last_error += `; gave up after ${delivery.attempts} attempts`;
      publish();
      return;
    }
    delivery.next_attempt_at = new Date(Date.now() + interval).toISOString();
    publish();
    await sleep(interval);
    interval = Math.min(interval * DELIVERY_RETRY.backoffCoefficient, DELIVERY_RETRY.maximumIntervalMs);
  }
}

import type { NativeConnection } from '@temporalio/worker';

const PING_INTERVAL_MS = 1_000;

/** How long this runner has not reached Temporal: what the fence in `supervised-process.ts` reads. */
export interface TemporalContact {
  silentForMs(): number;
}

/**
 * Pings Temporal once a second over the worker's own connection, the one its heartbeats travel
 * on, and remembers when a ping last got through (counted from when it was sent, so a slow answer
 * never makes the contact look newer than it was).
 */
export function watchTemporalContact(connection: NativeConnection): TemporalContact & { stop(): void } {
  let lastContactAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const ping = async (): Promise<void> => {
    const sentAt = Date.now();
    try {
      await connection.withDeadline(sentAt + PING_INTERVAL_MS * 5, () => connection.workflowService.getSystemInfo({}));
      lastContactAt = Math.max(lastContactAt, sentAt);
    } catch {
      // Not reached this time; the silence grows.
    }
    if (!stopped) timer = setTimeout(() => void ping(), PING_INTERVAL_MS).unref();
  };
  void ping();
  return {
    silentForMs: () => Date.now() - lastContactAt,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

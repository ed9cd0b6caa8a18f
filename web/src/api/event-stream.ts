import { SseParser } from '../lib/sse';
import type { ApiClient } from './client';
import { RunEvent } from './contract';

/**
 * Reads a run's events over SSE with fetch, because EventSource cannot send the Authorization
 * header. Resolves when the server ends the stream; rejects on network errors. `onEvent` gets
 * each event once, in order; the caller keeps the last id to resume with.
 */
export async function readRunEvents(
  client: ApiClient,
  runId: string,
  options: { lastEventId: number; signal: AbortSignal; onEvent: (event: RunEvent) => void; onOpen?: () => void },
): Promise<void> {
  const response = await client.openRunEventStream(runId, options.lastEventId, options.signal);
  if (!response.body) throw new Error('the event stream has no body');
  options.onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  let last = options.lastEventId;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const message of parser.push(value)) {
        const parsed = RunEvent.safeParse(JSON.parse(message.data));
        // Skips what the dashboard does not know (a newer event kind) instead of dropping the stream.
        if (!parsed.success || parsed.data.id <= last) continue;
        last = parsed.data.id;
        options.onEvent(parsed.data);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

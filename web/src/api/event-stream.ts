import { SseParser } from '../lib/sse';
import type { ApiClient } from './client';
import { RunEvent } from './contract';

/** The API sends a keepalive every 15 s: a stream silent for longer than this is dead (a sleeping laptop, a dropped network). */
const SILENCE_LIMIT_MS = 40_000;

export class StreamSilentError extends Error {
  constructor() {
    super('the event stream went silent');
    this.name = 'StreamSilentError';
  }
}

/**
 * Reads a run's events over SSE with fetch, because EventSource cannot send the Authorization
 * header. Resolves when the server ends the stream or `signal` aborts it; rejects on network
 * errors and on silence. `onEvent` gets each event once, in order; the caller keeps the last id
 * to resume with. A message it cannot read is skipped, never the stream.
 */
export async function readRunEvents(
  client: ApiClient,
  runId: string,
  options: { lastEventId: number; signal: AbortSignal; onEvent: (event: RunEvent) => void; onOpen?: () => void },
): Promise<void> {
  const local = new AbortController();
  const abort = (): void => local.abort();
  options.signal.addEventListener('abort', abort, { once: true });
  let silent = false;
  let silence: ReturnType<typeof setTimeout> | undefined;
  const heard = (): void => {
    clearTimeout(silence);
    silence = setTimeout(() => {
      silent = true;
      local.abort();
    }, SILENCE_LIMIT_MS);
  };
  try {
    heard();
    const response = await client.openRunEventStream(runId, options.lastEventId, local.signal);
    if (!response.body) throw new Error('the event stream has no body');
    options.onOpen?.();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    let last = options.lastEventId;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        heard();
        for (const message of parser.push(value)) {
          const parsed = RunEvent.safeParse(safeJson(message.data));
          // Skips what the dashboard does not know (a newer event kind) instead of dropping the stream.
          if (!parsed.success || parsed.data.id <= last) continue;
          last = parsed.data.id;
          options.onEvent(parsed.data);
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  } catch (error) {
    if (silent) throw new StreamSilentError();
    if (options.signal.aborted) return;
    throw error;
  } finally {
    clearTimeout(silence);
    options.signal.removeEventListener('abort', abort);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

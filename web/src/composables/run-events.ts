import { onScopeDispose, ref, shallowReactive, shallowRef, watch, type Ref, type ShallowRef } from 'vue';
import type { RunEvent } from '../api/contract';
import { ApiError, UnauthorizedError } from '../api/errors';
import { readRunEvents } from '../api/event-stream';
import { TerminalFeed } from '../lib/terminal-feed';
import { useApi } from './api';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

const MAX_RETRY_DELAY_MS = 10_000;
/** Events can trail a run's final status by a moment (runners send them in batches): keep listening this long. */
const AFTER_END_MS = 5_000;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A run's events, live: reads the SSE stream and, when it breaks (API restart, network), opens it
 * again with `Last-Event-ID` so the API replays exactly what was missed. Terminal output goes to
 * `terminal`; the other events collect in `events`, in order, each once. Once `ended()` holds, the
 * stream is closed a moment later, so finished runs hold no connection.
 */
export function useRunEvents(
  runId: string,
  ended: () => boolean,
): { events: readonly RunEvent[]; terminal: TerminalFeed; state: Ref<StreamState>; error: ShallowRef<unknown> } {
  const api = useApi();
  const events = shallowReactive<RunEvent[]>([]);
  const terminal = new TerminalFeed();
  const state = ref<StreamState>('connecting');
  const error = shallowRef<unknown>();
  const controller = new AbortController();
  let lastEventId = 0;

  async function follow(): Promise<void> {
    let failures = 0;
    while (!controller.signal.aborted) {
      try {
        await readRunEvents(api, runId, {
          lastEventId,
          signal: controller.signal,
          onOpen: () => {
            state.value = 'live';
            error.value = undefined;
            failures = 0;
          },
          onEvent: (event) => {
            lastEventId = event.id;
            // The CLI's own chatter (`noise`) stays out of the terminal: it is not the run's output.
            if (event.kind === 'terminal_chunk' && event.data.noise === true) return;
            if (event.kind === 'terminal_chunk' && typeof event.data.text === 'string') {
              terminal.push({ stream: event.data.stream === 'stderr' ? 'stderr' : 'stdout', text: event.data.text });
            } else events.push(event);
          },
        });
      } catch (caught) {
        if (controller.signal.aborted) break;
        error.value = caught;
        // A refused token or a run the API does not know: trying again changes nothing.
        if (caught instanceof UnauthorizedError || (caught instanceof ApiError && caught.status < 500)) break;
      }
      if (controller.signal.aborted) break;
      state.value = 'reconnecting';
      await pause(Math.min(500 * 2 ** failures, MAX_RETRY_DELAY_MS), controller.signal);
      failures += 1;
    }
    state.value = 'closed';
  }

  let closing: ReturnType<typeof setTimeout> | undefined;
  watch(ended, (isEnded) => {
    if (isEnded && !closing) closing = setTimeout(() => controller.abort(), AFTER_END_MS);
  }, { immediate: true });
  onScopeDispose(() => {
    clearTimeout(closing);
    controller.abort();
  });
  void follow();
  return { events, terminal, state, error };
}

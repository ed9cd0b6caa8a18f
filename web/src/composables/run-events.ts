import { onScopeDispose, ref, shallowReactive, shallowRef, type Ref, type ShallowRef } from 'vue';
import type { RunEvent } from '../api/contract';
import { UnauthorizedError } from '../api/errors';
import { readRunEvents } from '../api/event-stream';
import { useApi } from './api';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

const MAX_RETRY_DELAY_MS = 10_000;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A run's events, live: reads the SSE stream and, when it breaks (API restart, network), opens
 * it again with `Last-Event-ID` so the API replays exactly what was missed. `events` grows in
 * order, each event once; it is shallow-reactive, so components that get it as a prop see each
 * append (its length and items are tracked; the events themselves are plain objects).
 */
export function useRunEvents(runId: string): { events: readonly RunEvent[]; state: Ref<StreamState>; error: ShallowRef<unknown> } {
  const api = useApi();
  const events = shallowReactive<RunEvent[]>([]);
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
            events.push(event);
          },
        });
      } catch (caught) {
        if (controller.signal.aborted) break;
        if (caught instanceof UnauthorizedError) {
          state.value = 'closed';
          return;
        }
        error.value = caught;
      }
      if (controller.signal.aborted) break;
      state.value = 'reconnecting';
      await pause(Math.min(500 * 2 ** failures, MAX_RETRY_DELAY_MS), controller.signal);
      failures += 1;
    }
    state.value = 'closed';
  }

  onScopeDispose(() => controller.abort());
  void follow();
  return { events, state, error };
}

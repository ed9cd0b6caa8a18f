import { onScopeDispose } from 'vue';

/**
 * Runs `task` now and again `intervalMs` after each run ends (never two at once), until the
 * component goes away or `stop()` is called. Hidden tabs poll too: the list is live when you look back.
 */
export function usePolling(task: () => Promise<void>, intervalMs: number): { stop: () => void; now: () => Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function tick(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    try {
      await task();
    } finally {
      // An on-demand run during a scheduled one must not start a second chain.
      if (!stopped && !timer) timer = setTimeout(() => void tick(), intervalMs);
    }
  }

  function stop(): void {
    stopped = true;
    if (timer) clearTimeout(timer);
  }

  onScopeDispose(stop);
  void tick();
  return { stop, now: tick };
}

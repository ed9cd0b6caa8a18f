/**
 * Signals (or other promises) a workflow sent and must see delivered before it closes or continues
 * as new: Temporal drops the signals of a closed workflow.
 */
export function inFlight() {
  const pending = new Set<Promise<unknown>>();
  return {
    track(promise: Promise<unknown>): void {
      const tracked = promise.finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    get size(): number {
      return pending.size;
    },
    /** Once every tracked promise has settled, including those tracked while waiting. */
    async settled(): Promise<void> {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}

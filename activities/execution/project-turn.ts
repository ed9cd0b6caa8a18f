import { CancelledFailure, Context } from '@temporalio/activity';

/** As often as the execute activity heartbeats while it runs: its heartbeat timeout is 10 s. */
const WAITING_HEARTBEAT_MS = 2_000;

/**
 * Runs `work` in its turn of the project's lock (project mode: one run at a time in the folder),
 * heartbeating while it waits, so a run queued behind a long one is not taken for a lost runner,
 * and giving up its turn when it is stopped while it waits.
 */
export async function inProjectTurn<T>(lock: (work: () => Promise<T>) => Promise<T>, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  let started = false;
  let abandoned = false;
  // No progress yet: a retried attempt starts afresh.
  const beat = setInterval(() => context.heartbeat(), WAITING_HEARTBEAT_MS);
  const turn = lock(() => {
    clearInterval(beat);
    if (abandoned) return Promise.reject(new CancelledFailure('stopped while waiting for the project'));
    started = true;
    return work();
  });
  turn.catch(() => undefined);
  try {
    // A stop after the turn came is the work's own to handle (it ends its processes first).
    const stoppedWhileWaiting = context.cancelled.then(
      () => turn,
      (error: unknown) => {
        if (started) return turn;
        throw error;
      },
    );
    return await Promise.race([turn, stoppedWhileWaiting]);
  } catch (error) {
    if (!started) abandoned = true;
    throw error;
  } finally {
    clearInterval(beat);
  }
}

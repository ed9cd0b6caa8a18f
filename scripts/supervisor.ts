import type { ChildProcess } from 'node:child_process';

/** How `npm start` restarts a process that crashed. */
export interface RestartPolicy {
  /** The first restart waits this long; each crash in a row doubles it. @defaultValue 1 s */
  initialDelayMs: number;
  /** The longest wait between restarts. @defaultValue 30 s */
  maxDelayMs: number;
  /** A process that ran this long before it crashed starts again from the first delay. @defaultValue 60 s */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, stableAfterMs: 60_000 };

export interface Supervised {
  /** Stops the process (SIGTERM, SIGKILL after `graceMs`) and restarts it no more. */
  stop(graceMs?: number): Promise<void>;
}

const describeExit = (code: number | null, signal: NodeJS.Signals | null): string => (signal ? `was killed by ${signal}` : `exited with code ${code}`);

/** Ends a child: SIGTERM, then SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Keeps one process of `npm start` running: whenever it exits other than by `stop()`, the exit is
 * logged and it is started again after a delay that grows while it keeps crashing.
 */
export function supervise(name: string, start: () => ChildProcess, log: (line: string) => void, policy: RestartPolicy = DEFAULT_RESTART_POLICY): Supervised {
  let child: ChildProcess;
  let stopping = false;
  let delayMs = policy.initialDelayMs;
  let restartTimer: NodeJS.Timeout | undefined;
  const launch = (): void => {
    const startedAt = Date.now();
    child = start();
    log(`${name} started (pid ${child.pid})`);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      if (Date.now() - startedAt >= policy.stableAfterMs) delayMs = policy.initialDelayMs;
      log(`${name} ${describeExit(code, signal)}; restarting in ${(delayMs / 1000).toFixed(0)}s`);
      restartTimer = setTimeout(launch, delayMs);
      delayMs = Math.min(delayMs * 2, policy.maxDelayMs);
    });
  };
  launch();
  return {
    stop: (graceMs = 40_000) => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      return stopChild(child, graceMs);
    },
  };
}

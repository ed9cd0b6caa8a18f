import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Constant scripts, never built from input: what to end arrives as `$1`. Each waits for end-of-file
 * on stdin, which the runner holds open for as long as it lives, so it fires when the runner dies
 * in any way (kill -9 included) and ends the runs it left.
 */
const SCRIPTS = {
  /** `$1`: the runner's cgroup. Kills every run cgroup below it, then removes them once empty. */
  cgroup: `trap '' HUP INT
while read -r _; do :; done
for run in "$1"/*/; do [ -f "\${run}cgroup.kill" ] && echo 1 >"\${run}cgroup.kill"; done
tries=0
while [ $tries -lt 200 ]; do
  left=0
  for run in "$1"/*/; do [ -d "$run" ] && { rmdir "$run" 2>/dev/null || left=1; }; done
  [ $left = 0 ] && break
  tries=$((tries + 1)); sleep 0.05
done
rmdir "$1" 2>/dev/null
exit 0`,
  /** `$1`: a pattern for the runner's marker in an environment. Kills every process that carries it. */
  marker: `trap '' HUP INT
while read -r _; do :; done
for file in $(grep -lz -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
  pid=\${file#/proc/}; pid=\${pid%/environ}
  [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
done
exit 0`,
} as const;

export type WatchdogKind = keyof typeof SCRIPTS;

/** A watchdog that keeps dying (no /bin/sh?) is not restarted for ever. */
const MAX_RESTARTS = 5;

export interface Watchdog {
  /** The runner stops cleanly: the watchdog finds nothing left and exits. */
  close(): void;
}

/**
 * Starts the watchdog that ends this runner's runs when the runner dies, so executors never
 * outlive their runner. It runs in a session of its own, so a signal to the runner's process
 * group (a Ctrl-C) does not take it down before it has done its job.
 */
export function startWatchdog(kind: WatchdogKind, target: string, log: (message: string) => void): Watchdog {
  let closed = false;
  let restarts = 0;
  let child: ChildProcess;
  const start = (): void => {
    child = spawn('/bin/sh', ['-c', SCRIPTS[kind], 'ao-watchdog', target], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.unref();
    // Neither the child nor its pipe keeps the runner alive; the pipe closes when the runner exits.
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    child.stdin?.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      if (closed) return;
      const again = restarts++ < MAX_RESTARTS;
      const next = again ? 'starting another' : 'runs would now outlive a crash of this runner';
      log(`the containment watchdog exited (${signal ?? `code ${code}`}); ${next}`);
      if (again) start();
    });
  };
  start();
  return {
    close: () => {
      closed = true;
      child.stdin?.end();
    },
  };
}

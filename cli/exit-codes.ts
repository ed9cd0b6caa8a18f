import type { FinalRunStatus } from '../core/contract/run-status.js';

/** What `ao` exits with; README "The ao CLI" lists the same. */
export const EXIT = {
  /** Done; for `--follow`/`logs -f`: the run completed. */
  ok: 0,
  /** The API refused or failed the request, could not be reached, or a local file (config, archive, script folder) is refused. */
  failed: 1,
  /** Bad flags or arguments (commander's usage errors too). */
  usage: 2,
  /** `--follow`/`logs -f`: the run failed. */
  runFailed: 3,
  /** `--follow`/`logs -f`: the run was stopped. */
  runStopped: 4,
} as const;

/** The exit code a followed run's final status gives. */
export const RUN_OUTCOME_EXIT: Record<FinalRunStatus, number> = { completed: EXIT.ok, failed: EXIT.runFailed, stopped: EXIT.runStopped };

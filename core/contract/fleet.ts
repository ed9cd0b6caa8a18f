import { z } from 'zod';
import { RunnerExecutor } from './executor-profile.js';
import { Tag } from './names.js';
import { RUNNER_STATUSES } from './plain/fleet.js';

/** Runners as the fleet knows them: registration, the runner workflow's state, and the view derived from it. */

/**
 * How a runner holds its runs' processes so that a stop ends all of them: `cgroup`, one cgroup v2
 * per run (nothing escapes it); `process-group`, the fallback where the runner may not make
 * cgroups (the process group plus descendants found in /proc).
 */
export const CONTAINMENT_KINDS = ['cgroup', 'process-group'] as const;
export const ContainmentKind = z.enum(CONTAINMENT_KINDS);
export type ContainmentKind = z.infer<typeof ContainmentKind>;

export const RunnerContainment = z.object({
  kind: ContainmentKind,
  /** The runner's own cgroup (`<cgroup2>/…/ao/<runner id>`); each run gets one below it. */
  cgroup: z.string().optional(),
  /** Why a `process-group` runner has no cgroups. */
  reason: z.string().optional(),
});
export type RunnerContainment = z.infer<typeof RunnerContainment>;

/** What a runner tells the fleet about itself when it registers. */
export const RunnerRegistration = z.object({
  runner_id: z.string().min(1),
  hostname: z.string().min(1),
  project_dir: z.string().min(1),
  executor_profile: z.string().min(1),
  executor: RunnerExecutor,
  tags: z.array(Tag),
  require_matching_tags: z.boolean(),
  capacity: z.number().int().positive(),
  /** The name of the runner credential it posts events with: the API files them under it. */
  credential: z.string().optional(),
  /** Which process holds this identity, so a second one can be refused with a useful message. */
  instance: z.object({ id: z.string(), pid: z.number().int(), started_at: z.string() }),
  /** Optional: registrations from before containment was reported still parse. */
  containment: RunnerContainment.optional(),
  /** The unprivileged user its executors run as; absent, they run as the runner's own user. */
  executor_user: z.string().optional(),
  /**
   * Set when runs whose agent chooses no workspace work in `project` mode here (the profile says so, or the project
   * is not a git repository): those take the project's lock one at a time, whatever the capacity.
   */
  project_mode_one_at_a_time: z.boolean().optional(),
});
export type RunnerRegistration = z.infer<typeof RunnerRegistration>;

/** A script as installed on a runner. */
export const InstalledScript = z.object({ version: z.string(), installed_at: z.string() });
export type InstalledScript = z.infer<typeof InstalledScript>;

// The script install failure types are zod-free, for workflow code (script sync reads them).
export { SCRIPT_SYNC_FAILURE_TYPES, STALE_SCRIPT_REQUEST_FAILURES, type ScriptSyncFailureType } from './plain/fleet.js';

/** A script install (or removal) that failed on a runner; it is retried with a growing pause. */
export const ScriptSyncFailure = z.object({
  /** The version being installed, or `removed`. */
  version: z.string(),
  error: z.string(),
  at: z.string(),
  attempts: z.number().int(),
  next_attempt_at: z.string(),
});
export type ScriptSyncFailure = z.infer<typeof ScriptSyncFailure>;

/** The runner workflow's state (its `runnerState` query). */
export const RunnerState = z.object({
  registration: RunnerRegistration,
  online: z.boolean(),
  /** Why the runner is offline, when it is. */
  offline_reason: z.string().optional(),
  /** When `online` last changed. */
  since: z.string(),
  active_runs: z.array(z.string()),
  draining: z.boolean(),
  /** Set while the runner's health_check hook fails: it takes no runs. */
  unhealthy_reason: z.string().optional(),
  /** Scripts installed on the runner, by name: the version (content hash) and when it was installed. */
  scripts: z.record(z.string(), InstalledScript),
  /** Scripts whose last install or removal failed; retried with a growing pause. */
  script_failures: z.record(z.string(), ScriptSyncFailure),
  /** The last presence heartbeat of a presence hold that has ended: an offline runner still shows when it was last heard. */
  last_heartbeat_at: z.string().optional(),
});
export type RunnerState = z.infer<typeof RunnerState>;

// What a runner's state means (only an `online` runner takes runs): zod-free, for workflow code.
export { RUNNER_STATUSES, notForgettableReason, notTakingRunsReason, runnerStatus, takesRuns } from './plain/fleet.js';
export const RunnerStatus = z.enum(RUNNER_STATUSES);
export type RunnerStatus = z.infer<typeof RunnerStatus>;

/** What the presence activity heartbeats; `at` lets the workflow keep the last heartbeat time once the hold ends. */
export interface PresenceHeartbeat {
  pid: number;
  instance: string;
  at: string;
}

/** `GET /runners` entry: the runner workflow's state with what the fleet view derives from it. */
export const RunnerView = RunnerState.extend({
  runner_id: z.string(),
  status: RunnerStatus,
  load: z.number(),
  capacity: z.number(),
  /** When the runner's presence last heartbeat reached Temporal. */
  last_heartbeat_at: z.string().optional(),
}).meta({ id: 'RunnerView' });
export type RunnerView = z.infer<typeof RunnerView>;

import { z } from 'zod';
import { RunnerExecutor } from './executor-profile.js';
import { Tag } from './names.js';

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

/** Failure types of a script install, a closed set: the runner's activity raises them, script sync reads them. */
export const SCRIPT_SYNC_FAILURE_TYPES = [
  /** The runner has no API URL to download from. */
  'SCRIPT_SYNC_UNAVAILABLE',
  /** The script was deleted since the request. */
  'SCRIPT_GONE',
  'SCRIPT_DOWNLOAD_FAILED',
  /** The bundle is too large or holds an entry that is not a plain file. */
  'SCRIPT_BUNDLE_REFUSED',
  'SCRIPT_HASH_MISMATCH',
  /** The script changed since the request; a newer request follows. */
  'SCRIPT_VERSION_CHANGED',
] as const;
export type ScriptSyncFailureType = (typeof SCRIPT_SYNC_FAILURE_TYPES)[number];

/** Failure types that mean the request is out of date, not that the runner cannot install. */
export const STALE_SCRIPT_REQUEST_FAILURES: readonly string[] = ['SCRIPT_GONE', 'SCRIPT_VERSION_CHANGED'] satisfies ScriptSyncFailureType[];

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

export const RUNNER_STATUSES = ['online', 'draining', 'unhealthy', 'offline'] as const;
export const RunnerStatus = z.enum(RUNNER_STATUSES);
export type RunnerStatus = z.infer<typeof RunnerStatus>;

type Liveness = Pick<RunnerState, 'online' | 'draining' | 'unhealthy_reason'>;

/** The one rule for what a runner's state means: only an `online` runner takes runs. */
export const runnerStatus = (state: Liveness): RunnerStatus =>
  !state.online ? 'offline' : state.draining ? 'draining' : state.unhealthy_reason ? 'unhealthy' : 'online';

/** Only a runner that is offline and holds no run may be forgotten; why not, in words, otherwise. */
export function notForgettableReason(state: Pick<RunnerState, 'online' | 'draining' | 'unhealthy_reason' | 'active_runs'>): string | undefined {
  const status = runnerStatus(state);
  if (status !== 'offline') return `runner is ${status}: only an offline runner can be forgotten`;
  if (state.active_runs.length) return `runner still holds ${state.active_runs.length} run(s) (${state.active_runs.join(', ')}): they release their slots when they end`;
  return undefined;
}

/** What the presence activity heartbeats; `at` lets the workflow keep the last heartbeat time once the hold ends. */
export interface PresenceHeartbeat {
  pid: number;
  instance: string;
  at: string;
}

export const takesRuns = (state: Liveness): boolean => runnerStatus(state) === 'online';

/** Why a runner takes no runs, in words; undefined when it takes them. */
export function notTakingRunsReason(state: Liveness): string | undefined {
  switch (runnerStatus(state)) {
    case 'offline':
      return 'runner is offline';
    case 'draining':
      return 'runner is draining';
    case 'unhealthy':
      return `runner is unhealthy: ${state.unhealthy_reason}`;
    case 'online':
      return undefined;
  }
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

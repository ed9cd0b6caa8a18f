import type { Demands } from './demands.js';
import type { ExecutorType } from './executor-profile.js';

/**
 * Matching rules (design §3), as users read them in the README:
 * - property demands (hostname, project_dir, executor_profile, executor_type) match exactly;
 * - the runner carries every demanded tag;
 * - a runner with `require_matching_tags` takes only runs that demand tags, sharing at least one;
 * - a procedural run needs its script installed on the runner, at the version it was validated against;
 * - among eligible runners the one with the most free capacity wins.
 */

export interface RunnerCandidate {
  runner_id: string;
  hostname: string;
  project_dir: string;
  executor_profile: string;
  executor_type: ExecutorType;
  tags: string[];
  require_matching_tags: boolean;
  capacity: number;
  active_runs: number;
  /** Installed scripts: name → version. */
  scripts?: Record<string, string>;
}

/** A script a run needs on its runner, at this version. */
export interface ScriptNeed {
  name: string;
  version: string;
}

const shortVersion = (version: string): string => version.slice(0, 12);
const hasScript = (runner: RunnerCandidate, script: ScriptNeed | undefined): boolean => !script || runner.scripts?.[script.name] === script.version;

const PROPERTY_DEMANDS = ['hostname', 'project_dir', 'executor_profile', 'executor_type'] as const;

/** Merges demand layers: the first layer to set a property wins, tags are unioned. */
export function mergeDemands(...layers: Array<Partial<Demands> | undefined>): Demands {
  const merged: Demands = { tags: [] };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of PROPERTY_DEMANDS) {
      if (merged[key] === undefined && layer[key] !== undefined) (merged as Record<string, unknown>)[key] = layer[key];
    }
    for (const tag of layer.tags ?? []) if (!merged.tags.includes(tag)) merged.tags.push(tag);
  }
  return merged;
}

/** Why this runner cannot take a run with these demands, or undefined when it can. */
export function mismatch(runner: RunnerCandidate, demands: Demands): string | undefined {
  const actual = {
    hostname: runner.hostname,
    project_dir: runner.project_dir,
    executor_profile: runner.executor_profile,
    executor_type: runner.executor_type,
  };
  for (const key of PROPERTY_DEMANDS) {
    const wanted = demands[key];
    if (wanted !== undefined && actual[key] !== wanted) return `${key} ${wanted}`;
  }
  const missing = demands.tags.filter((tag) => !runner.tags.includes(tag));
  if (missing.length) return `tags [${missing.join(', ')}]`;
  if (runner.require_matching_tags && !demands.tags.some((tag) => runner.tags.includes(tag))) {
    return 'a demanded tag (runners that require matching tags take only tagged runs)';
  }
  return undefined;
}

export const freeCapacity = (runner: RunnerCandidate): number => runner.capacity - runner.active_runs;

/**
 * Why a run waits: for `runner`, no live runner can take it at all (the no-runner timeout runs);
 * for `slot`, runners that can take it exist and are all busy (it waits its turn).
 */
export type RunnerWait = 'runner' | 'slot';

export type RunnerChoice = { eligible: RunnerCandidate[]; reason?: undefined; waiting?: undefined } | { eligible: []; reason: string; waiting: RunnerWait };

/** The runners that meet the demands and have the script, free or busy. */
export const matchingRunners = (candidates: RunnerCandidate[], demands: Demands, script?: ScriptNeed): RunnerCandidate[] =>
  candidates.filter((runner) => mismatch(runner, demands) === undefined && hasScript(runner, script));

/**
 * The runners that can take the run, most free capacity first; when there are none,
 * a reason a user can act on (which demand no live runner meets).
 */
export function rankRunners(candidates: RunnerCandidate[], demands: Demands, script?: ScriptNeed): RunnerChoice {
  if (candidates.length === 0) return { eligible: [], reason: 'no live runner is registered', waiting: 'runner' };
  const demanded = candidates.filter((runner) => mismatch(runner, demands) === undefined);
  if (demanded.length === 0) return { eligible: [], reason: unmetDemandReason(candidates, demands), waiting: 'runner' };
  // A procedural run goes only where its script is installed at the version it was validated against.
  const matching = demanded.filter((runner) => hasScript(runner, script));
  if (matching.length === 0) {
    return { eligible: [], reason: `no matching runner has script ${script!.name} at version ${shortVersion(script!.version)} installed yet`, waiting: 'runner' };
  }
  const withRoom = matching.filter((runner) => freeCapacity(runner) > 0);
  if (withRoom.length === 0) {
    return { eligible: [], reason: `all ${matching.length} matching runner(s) are at capacity`, waiting: 'slot' };
  }
  const eligible = [...withRoom].sort((a, b) => freeCapacity(b) - freeCapacity(a) || a.runner_id.localeCompare(b.runner_id));
  return { eligible };
}

/** Names the demands no live runner meets on its own; else says no runner meets them together. */
function unmetDemandReason(candidates: RunnerCandidate[], demands: Demands): string {
  const single: Array<{ label: string; demands: Demands }> = [
    ...PROPERTY_DEMANDS.filter((key) => demands[key] !== undefined).map((key) => ({
      label: `${key} ${demands[key]}`,
      demands: { [key]: demands[key], tags: [] },
    })),
  ];
  const missingTags = demands.tags.filter((tag) => !candidates.some((runner) => runner.tags.includes(tag)));
  const unmet = single
    .filter((demand) => candidates.every((runner) => mismatch({ ...runner, require_matching_tags: false }, demand.demands) !== undefined))
    .map((demand) => demand.label);
  if (missingTags.length) unmet.push(`tags [${missingTags.join(', ')}]`);
  if (unmet.length) return `no live runner has ${unmet.join(' and no live runner has ')}`;
  const strict = candidates.filter((runner) => runner.require_matching_tags && mismatch({ ...runner, require_matching_tags: false }, demands) === undefined);
  if (strict.length) return 'the only matching runners require matching tags and take only runs that demand one of their tags';
  const wanted = [...single.map((demand) => demand.label), ...(demands.tags.length ? [`tags [${demands.tags.join(', ')}]`] : [])];
  return `no live runner meets all of: ${wanted.join(', ')}`;
}

import type { RunnerView } from '../api/contract';
import { RUNNER_STATUSES } from '../api/contract';

/** The runners table's filters as the address keeps them (`all`: long-offline runners too); the sort is `sort`. */
export const RUNNER_FILTER_KEYS = ['status', 'tag', 'profile', 'host', 'all'] as const;
export type RunnerFilterKey = (typeof RUNNER_FILTER_KEYS)[number];
export const RUNNER_SORT_QUERY_KEY = 'sort';

/** The columns a table can be sorted by, each with the value it sorts on. */
const SORT_VALUES = {
  status: (runner: RunnerView) => RUNNER_STATUSES.indexOf(runner.status),
  host: (runner: RunnerView) => runner.registration.hostname,
  runner: (runner: RunnerView) => runner.runner_id,
  profile: (runner: RunnerView) => runner.registration.executor_profile,
  slots: (runner: RunnerView) => runner.load / runner.capacity,
  heartbeat: (runner: RunnerView) => (runner.last_heartbeat_at ? Date.parse(runner.last_heartbeat_at) : 0),
} satisfies Record<string, (runner: RunnerView) => string | number>;
export type RunnerSortKey = keyof typeof SORT_VALUES;
export const RUNNER_SORT_KEYS = Object.keys(SORT_VALUES) as RunnerSortKey[];

/** `sort` in the address: a column, `-` in front for descending. Unknown columns fall back to the default. */
export interface RunnerSort {
  key: RunnerSortKey;
  descending: boolean;
}
const DEFAULT_SORT: RunnerSort = { key: 'host', descending: false };

export function parseSort(value: string): RunnerSort {
  const descending = value.startsWith('-');
  const key = (descending ? value.slice(1) : value) as RunnerSortKey;
  return key in SORT_VALUES ? { key, descending } : DEFAULT_SORT;
}

export const formatSort = (sort: RunnerSort): string => `${sort.descending ? '-' : ''}${sort.key}`;

/** A click on a column header: that column ascending, or the other way round when it is already the sort. */
export const toggledSort = (current: RunnerSort, key: RunnerSortKey): RunnerSort => ({ key, descending: current.key === key ? !current.descending : false });

/** Status and profile match exactly, a tag must be among the runner's, host matches a part of the hostname. */
export function filterRunners(runners: readonly RunnerView[], filters: Record<Exclude<RunnerFilterKey, 'all'>, string>): RunnerView[] {
  const host = filters.host.toLowerCase();
  return runners.filter(
    (runner) =>
      (!filters.status || runner.status === filters.status) &&
      (!filters.profile || runner.registration.executor_profile === filters.profile) &&
      (!filters.tag || runner.registration.tags.includes(filters.tag)) &&
      (!host || runner.registration.hostname.toLowerCase().includes(host)),
  );
}

export function sortRunners(runners: readonly RunnerView[], sort: RunnerSort): RunnerView[] {
  const value = SORT_VALUES[sort.key];
  const direction = sort.descending ? -1 : 1;
  return [...runners].sort((a, b) => {
    const [left, right] = [value(a), value(b)];
    const order = typeof left === 'number' && typeof right === 'number' ? left - right : String(left).localeCompare(String(right));
    // Ties keep a stable order by id, so rows do not jump between polls.
    return order * direction || a.runner_id.localeCompare(b.runner_id);
  });
}

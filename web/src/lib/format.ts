/** Display helpers: times and durations the way the tables show them. */

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${minutes % 60}m`;
}

/** From `start` to `end`, or to `now` while it has not ended. */
export function durationBetween(start: string | undefined, end: string | undefined, now: number): string {
  if (!start) return '—';
  return formatDuration((end ? Date.parse(end) : now) - Date.parse(start));
}

export function formatAge(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  return `${formatDuration(now - Date.parse(iso))} ago`;
}

export function formatCost(usd: number | undefined): string {
  return usd === undefined ? '—' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

/** Script versions are content hashes: the first 12 characters tell them apart. */
export function shortVersion(version: string): string {
  return version.length > 12 ? version.slice(0, 12) : version;
}

import { z } from 'zod';

/**
 * Concurrency limits: at most `limit` runs that share a key run at once, fleet-wide. The key is a
 * small template: plain text plus these placeholders, filled in when the run is resolved.
 */
export const CONCURRENCY_PLACEHOLDERS = {
  /** The agent's name. */
  agent: 'agent',
  /** The run's project: the `project_dir` its demands name (required when the key uses it). */
  project: 'project',
  /** The run's session id. */
  session: 'session',
} as const;
export type ConcurrencyPlaceholder = keyof typeof CONCURRENCY_PLACEHOLDERS;

/** Runs sharing a key: at most this many at once. */
export const MAX_CONCURRENCY_LIMIT = 1000;
const PLACEHOLDER = /\{([^{}]*)\}/g;

export const ConcurrencyKey = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:/@{}-]+$/, 'a concurrency key uses letters, digits, . _ : / @ - and {placeholders}')
  .superRefine((key, context) => {
    for (const [, name] of key.matchAll(PLACEHOLDER)) {
      if (!(name! in CONCURRENCY_PLACEHOLDERS)) {
        context.addIssue({ code: 'custom', message: `unknown placeholder {${name}}: use ${Object.keys(CONCURRENCY_PLACEHOLDERS).map((known) => `{${known}}`).join(', ')}` });
      }
    }
    if (key.replace(PLACEHOLDER, '').match(/[{}]/)) context.addIssue({ code: 'custom', message: 'unbalanced { or } in the concurrency key' });
  });

/** `concurrency` on an agent or a run request, e.g. `{ "key": "repo:{project}", "limit": 1 }`. */
export const ConcurrencyLimit = z
  .object({
    key: ConcurrencyKey,
    limit: z.number().int().min(1).max(MAX_CONCURRENCY_LIMIT),
  })
  .strict()
  .meta({ id: 'ConcurrencyLimit' });
export type ConcurrencyLimit = z.infer<typeof ConcurrencyLimit>;

/** A limit with its key filled in, as the run workflow holds it. */
export interface ResolvedConcurrency {
  key: string;
  limit: number;
}

/** A key that names a placeholder the run cannot fill (e.g. `{project}` without a project_dir demand). */
export class ConcurrencyKeyError extends Error {
  constructor(
    readonly key: string,
    readonly placeholder: ConcurrencyPlaceholder,
  ) {
    super(`concurrency key ${key} uses {${placeholder}}, which this run does not have${placeholder === 'project' ? ' (its demands name no project_dir)' : ''}`);
    this.name = 'ConcurrencyKeyError';
  }
}

export function expandConcurrencyKey(key: string, values: Partial<Record<ConcurrencyPlaceholder, string>>): string {
  return key.replace(PLACEHOLDER, (_match, name: ConcurrencyPlaceholder) => {
    const value = values[name];
    if (!value) throw new ConcurrencyKeyError(key, name);
    return value;
  });
}

/**
 * The limits a run is under: its agent's and its request's, both (a request cannot lift its agent's
 * limit). The same key twice keeps the lower limit. Sorted by key: every run takes its permits in the
 * same order, so two runs never each hold the permit the other waits for.
 */
export function resolveConcurrency(limits: Array<ConcurrencyLimit | undefined>, values: Partial<Record<ConcurrencyPlaceholder, string>>): ResolvedConcurrency[] {
  const byKey = new Map<string, number>();
  for (const limit of limits) {
    if (!limit) continue;
    const key = expandConcurrencyKey(limit.key, values);
    byKey.set(key, Math.min(limit.limit, byKey.get(key) ?? Infinity));
  }
  return [...byKey].map(([key, limit]) => ({ key, limit })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

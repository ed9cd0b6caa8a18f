import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';

/**
 * The ao search attributes, defined once. The dev server registers them at start and
 * `ensureNamespace` registers them on an existing namespace. SQLite visibility gives each
 * namespace 10 Keyword and 3 KeywordList slots: keep within that budget.
 */
export const searchAttributes = {
  runStatus: defineSearchAttributeKey('AoRunStatus', SearchAttributeType.KEYWORD),
  agent: defineSearchAttributeKey('AoAgent', SearchAttributeType.KEYWORD),
  runnerId: defineSearchAttributeKey('AoRunnerId', SearchAttributeType.KEYWORD),
  profile: defineSearchAttributeKey('AoProfile', SearchAttributeType.KEYWORD),
  executorType: defineSearchAttributeKey('AoExecutorType', SearchAttributeType.KEYWORD),
  hostname: defineSearchAttributeKey('AoHostname', SearchAttributeType.KEYWORD),
  sessionId: defineSearchAttributeKey('AoSessionId', SearchAttributeType.KEYWORD),
  runnerOnline: defineSearchAttributeKey('AoRunnerOnline', SearchAttributeType.BOOL),
  tags: defineSearchAttributeKey('AoTags', SearchAttributeType.KEYWORD_LIST),
  /** The notifications a notify workflow delivers to, so the API lists one notification's deliveries. */
  notifications: defineSearchAttributeKey('AoNotifications', SearchAttributeType.KEYWORD_LIST),
  /** The run's cost in US dollars, once it completed (or failed with a usage: a run stopped over its budget). */
  costUsd: defineSearchAttributeKey('AoCostUsd', SearchAttributeType.DOUBLE),
  /** The run's prompt tokens (uncached, cache reads and cache writes), once it ended with a usage. */
  inputTokens: defineSearchAttributeKey('AoInputTokens', SearchAttributeType.INT),
  /** The run's output tokens, once it ended with a usage. */
  outputTokens: defineSearchAttributeKey('AoOutputTokens', SearchAttributeType.INT),
  /** What started a run other than `POST /runs`: `schedule:<name>` or `trigger:<name>` (set at start, never changed). */
  origin: defineSearchAttributeKey('AoOrigin', SearchAttributeType.KEYWORD),
} as const;

export const allSearchAttributeKeys = Object.values(searchAttributes);

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0);

/**
 * A run's usage as search attributes, from its result (`cost_usd`, `usage` in the RunUsage shape):
 * what `GET /usage` adds up without reading each run. `cost` false leaves the cost out (set apart).
 */
export function usageSearchAttributes(result: unknown, cost = true): SearchAttributeUpdatePair[] {
  const data = (typeof result === 'object' && result !== null ? result : {}) as { cost_usd?: unknown; usage?: Record<string, unknown> };
  const pairs: SearchAttributeUpdatePair[] = [];
  if (cost && typeof data.cost_usd === 'number' && Number.isFinite(data.cost_usd)) pairs.push({ key: searchAttributes.costUsd, value: data.cost_usd });
  const usage = data.usage;
  if (typeof usage === 'object' && usage !== null && typeof usage.input_tokens === 'number') {
    pairs.push({ key: searchAttributes.inputTokens, value: count(usage.input_tokens) + count(usage.cache_read_tokens) + count(usage.cache_write_tokens) });
    pairs.push({ key: searchAttributes.outputTokens, value: count(usage.output_tokens) });
  }
  return pairs;
}

type Literal = string | number | boolean;

/** A value as a visibility query literal; a quote inside a string could end it early, so none is allowed. */
function literal(value: Literal): string {
  if (typeof value !== 'string') return String(value);
  if (value.includes("'")) throw new Error(`a visibility query value cannot contain a quote: ${value}`);
  return `'${value}'`;
}

/**
 * Visibility query clauses, built from the keys above so no attribute name is typed by hand.
 * Join them with `allOf`: `allOf(workflowTypeIs(RUN_WORKFLOW_TYPE), attributeIs(searchAttributes.agent, 'coder'))`.
 */
export const visibility = {
  attributeIs: (key: { name: string }, value: Literal): string => `${key.name}=${literal(value)}`,
  workflowTypeIs: (type: string): string => `WorkflowType=${literal(type)}`,
  isRunning: (): string => `ExecutionStatus='Running'`,
  startedBefore: (time: string): string => `StartTime < ${literal(time)}`,
  startedAtOrAfter: (time: string): string => `StartTime >= ${literal(time)}`,
  allOf: (...clauses: Array<string | undefined>): string => clauses.filter((clause): clause is string => clause !== undefined).join(' AND '),
};

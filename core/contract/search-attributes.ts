import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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
  /** What the executor reported the run cost, in US dollars, once it completed. */
  costUsd: defineSearchAttributeKey('AoCostUsd', SearchAttributeType.DOUBLE),
  /** What started a run other than `POST /runs`: `schedule:<name>` or `trigger:<name>` (set at start, never changed). */
  origin: defineSearchAttributeKey('AoOrigin', SearchAttributeType.KEYWORD),
} as const;

export const allSearchAttributeKeys = Object.values(searchAttributes);

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
  allOf: (...clauses: Array<string | undefined>): string => clauses.filter((clause): clause is string => clause !== undefined).join(' AND '),
};

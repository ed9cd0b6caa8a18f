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
  /** What the executor reported the run cost, in US dollars, once it completed. */
  costUsd: defineSearchAttributeKey('AoCostUsd', SearchAttributeType.DOUBLE),
} as const;

export const allSearchAttributeKeys = Object.values(searchAttributes);

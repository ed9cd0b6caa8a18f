import { SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto, { type temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { allSearchAttributeKeys } from '../core/contract/search-attributes.js';

// @temporalio/proto is CommonJS: reach the enum through its default export.
const { IndexedValueType } = proto.temporal.api.enums.v1;

/** Finished runs are kept this long (the dev server's own default, 24 h, would drop them). */
export const DEFAULT_RETENTION_DAYS = 90;

const INDEXED_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

const CLI_TYPE_NAME: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** `--search-attribute NAME=Type` arguments for `temporal server start-dev`. */
export function searchAttributeArgs(): string[] {
  return allSearchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE_NAME[key.type]}`]);
}

/**
 * Makes a namespace ready for ao: it exists, carries the ao search attributes, and keeps
 * closed runs for `retentionDays`. Safe to call on every start.
 */
export async function ensureNamespace(connection: Connection, namespace: string, retentionDays = DEFAULT_RETENTION_DAYS): Promise<void> {
  const retention = msToTs(retentionDays * 24 * 3600 * 1000);
  const service = connection.workflowService;
  try {
    await service.describeNamespace({ namespace });
    await service.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: retention } });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
  }
  const { customAttributes } = await untilNamespaceKnown(() => connection.operatorService.listSearchAttributes({ namespace }));
  const missing = allSearchAttributeKeys.filter((key) => !customAttributes || !(key.name in customAttributes));
  if (missing.length) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type]])),
    });
  }
}

const isNotFound = (error: unknown): boolean => (error as { code?: number }).code === 5;

/** A namespace just registered takes a few seconds to reach every service of the server. */
async function untilNamespaceKnown<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isNotFound(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

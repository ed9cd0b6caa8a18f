import fs from 'node:fs/promises';
import path from 'node:path';
import proto, { type temporal } from '@temporalio/proto';
import { z } from 'zod';
import { repoRoot } from '../../core/config/paths.js';

/**
 * Workflow histories recorded from releases, which the replay test runs against the current
 * workflow code: one folder per release, `<label>/<scenario>.json`, each described in `<label>/index.json`.
 */
export const HISTORIES_DIR = path.join(repoRoot, 'test', 'replay', 'histories');
export const INDEX_FILE = 'index.json';

export const historyFileName = (scenario: string): string => `${scenario}.json`;

// @temporalio/proto is CommonJS: reach the message class through its default export.
const { History } = proto.temporal.api.history.v1;

/**
 * The file format: `History.toJSON()` of @temporalio/proto (enum names, int64 as strings, bytes as
 * base64, timestamps as `{seconds, nanos}`), one event per line, so a diff shows which events
 * changed. Not `historyToJSON` of @temporalio/common: in this lockfile protobufjs 7 is hoisted (for
 * @grpc/proto-loader), so @temporalio/common, /proto and /worker each get their own protobufjs 8;
 * its `instanceof Type` check fails across the copies, and that function, like `historyFromJSON`
 * (which `Worker.runReplayHistories` applies to JSON input), throws "type must be a Type".
 */
export function serializeHistory(history: temporal.api.history.v1.IHistory): string {
  const { events = [] } = History.fromObject(history).toJSON() as { events?: unknown[] };
  return `{"events": [\n${events.map((event) => JSON.stringify(event)).join(',\n')}\n]}\n`;
}

/** Reads what `serializeHistory` wrote, as the decoded `History` that replay takes. */
export function parseHistory(json: string): temporal.api.history.v1.History {
  return History.fromObject(JSON.parse(json) as Record<string, unknown>);
}

/** The history's protobuf encoding, to check that a file round-trips to exactly what the server sent. */
export const encodeHistory = (history: temporal.api.history.v1.IHistory): Buffer => Buffer.from(History.encode(History.fromObject(history)).finish());

export const RecordedHistory = z.object({
  /** The file is `<scenario>.json`. */
  scenario: z.string().regex(/^[a-z0-9-]+$/),
  workflow_id: z.string(),
  workflow_type: z.string(),
  /** The execution's status when it was recorded: `RUNNING` histories are open, as in-flight ones are during an upgrade. */
  status: z.string(),
  events: z.number().int().positive(),
  description: z.string(),
  /**
   * Workflow tasks that failed while it was recorded (`event <id>: <message>`): the recorded code
   * already had a bug there. Replay reproduces such a failure without an error, as the history holds it.
   */
  workflow_task_failures: z.array(z.string()).optional(),
});
export type RecordedHistory = z.infer<typeof RecordedHistory>;

/** Said in every index, so a later change of the file format can tell the sets apart. */
export const HISTORY_FORMAT = '@temporalio/proto History.toJSON(), one event per line';

export const HistorySetIndex = z.object({
  label: z.string(),
  format: z.literal(HISTORY_FORMAT),
  version: z.string(),
  /** The commit whose workflow code wrote these histories. */
  commit: z.string(),
  recorded_at: z.string(),
  temporal_sdk: z.string(),
  temporal_cli: z.string(),
  histories: z.array(RecordedHistory),
});
export type HistorySetIndex = z.infer<typeof HistorySetIndex>;

export interface HistoryFile {
  /** `<label>/<scenario>.json`, for messages. */
  file: string;
  /** From the index; undefined when the index does not list the file. */
  entry: RecordedHistory | undefined;
  history: temporal.api.history.v1.History;
}

export interface HistorySet {
  label: string;
  index: HistorySetIndex;
  files: HistoryFile[];
}

/**
 * Every recorded set with its index and parsed history files. A file that cannot be read or
 * parsed throws with its path: a broken recording must not pass by replaying nothing.
 */
export async function readHistorySets(dir = HISTORIES_DIR): Promise<HistorySet[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  // A hidden folder is a recording still being written.
  const labels = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  return Promise.all(labels.map((label) => readHistorySet(dir, label)));
}

async function readHistorySet(dir: string, label: string): Promise<HistorySet> {
  const folder = path.join(dir, label);
  const index = HistorySetIndex.parse(JSON.parse(await fs.readFile(path.join(folder, INDEX_FILE), 'utf8')));
  const names = (await fs.readdir(folder)).filter((name) => name.endsWith('.json') && name !== INDEX_FILE).sort();
  const files = await Promise.all(
    names.map(async (name): Promise<HistoryFile> => {
      const file = `${label}/${name}`;
      try {
        const history = parseHistory(await fs.readFile(path.join(folder, name), 'utf8'));
        return { file, entry: index.histories.find((entry) => historyFileName(entry.scenario) === name), history };
      } catch (error) {
        throw new Error(`${file} is not a readable history: ${(error as Error).message}`);
      }
    }),
  );
  return { label, index, files };
}

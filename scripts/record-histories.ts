import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { repoRoot } from '../core/config/paths.js';
import { findTemporalCli } from '../temporal-config/cli.js';
import { startDevServer } from '../temporal-config/dev-server.js';
import {
  HISTORIES_DIR,
  HISTORY_FORMAT,
  INDEX_FILE,
  encodeHistory,
  historyFileName,
  parseHistory,
  serializeHistory,
  type HistorySetIndex,
  type RecordedHistory,
} from '../test/support/recorded-histories.js';
import { TestStack } from '../test/support/stack.js';
import { buildWorkflowBundle } from '../workers/workflow-bundle.js';
import { findSecret } from './replay/find-secret.js';
import { driveScenarios, type ScenarioRecord } from './replay/scenarios.js';

/**
 * `npm run replay:record [-- --label <name>]`: records the workflow histories that
 * test/replay.test.ts replays against later workflow code. It starts its own Temporal dev server
 * and a whole ao stack of real processes, drives the scenarios of scripts/replay/scenarios.ts
 * through the API, and writes test/replay/histories/<label>/ (default label: <version>-<short commit>).
 */

const run = promisify(execFile);
// @temporalio/proto is CommonJS: reach the enum through its default export.
const { EventType } = proto.temporal.api.enums.v1;
const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** What goes into the workflow bundle: recorded from uncommitted changes, a set would not be the code of its commit. */
const WORKFLOW_SOURCES = ['workflows', 'core'];

const log = (line: string): void => console.log(`replay:record: ${line}`);
const git = async (...args: string[]): Promise<string> => (await run('git', args, { cwd: repoRoot })).stdout.trim();

function labelOption(argv: string[]): string | undefined {
  if (argv.length === 0) return undefined;
  const [flag, value, ...rest] = argv;
  if (flag !== '--label' || !value || rest.length) throw new Error('usage: npm run replay:record [-- --label <name>]');
  if (!LABEL_PATTERN.test(value)) throw new Error(`--label: ${JSON.stringify(value)} must be letters, digits, '.', '_' or '-'`);
  return value;
}

async function assertWorkflowCodeCommitted(): Promise<void> {
  const changes = await git('status', '--porcelain', '--', ...WORKFLOW_SOURCES);
  if (changes) throw new Error(`${WORKFLOW_SOURCES.join('/ and ')}/ have uncommitted changes; commit or stash them first:\n${changes}`);
}

async function recordHistory(client: Client, record: ScenarioRecord, token: string): Promise<{ entry: RecordedHistory; json: string }> {
  // No run id: a runner workflow that continued as new is recorded as its current run.
  const handle = client.workflow.getHandle(record.workflowId);
  const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
  const json = serializeHistory(history);
  if (!encodeHistory(parseHistory(json)).equals(encodeHistory(history))) throw new Error(`the history of ${record.workflowId} does not read back as it was fetched`);
  const leak = findSecret(JSON.parse(json), token);
  if (leak) throw new Error(`the history of ${record.workflowId} holds the API token at ${leak}; nothing was written`);
  const taskFailures = (history.events ?? [])
    .filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    .map((event) => `event ${String(event.eventId)}: ${event.workflowTaskFailedEventAttributes?.failure?.message ?? 'no message'}`);
  // Kept, not refused: a workflow wedged by a bug of this release is what an upgrade meets in flight.
  for (const failure of taskFailures) log(`WARNING ${record.scenario}: a workflow task failed while recording, ${failure}`);
  return {
    entry: {
      scenario: record.scenario,
      workflow_id: record.workflowId,
      workflow_type: description.type,
      status: description.status.name,
      events: history.events?.length ?? 0,
      description: record.description,
      ...(taskFailures.length ? { workflow_task_failures: taskFailures } : {}),
    },
    json,
  };
}

/** Writes the set beside the others in a hidden folder first, so an interrupted recording leaves no half set. */
async function writeSet(index: HistorySetIndex, histories: Array<{ entry: RecordedHistory; json: string }>): Promise<void> {
  const target = path.join(HISTORIES_DIR, index.label);
  const staging = path.join(HISTORIES_DIR, `.${index.label}.partial`);
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true });
  for (const { entry, json } of histories) await fs.writeFile(path.join(staging, historyFileName(entry.scenario)), json);
  await fs.writeFile(path.join(staging, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  await fs.rm(target, { recursive: true, force: true });
  await fs.rename(staging, target);
  let total = 0;
  for (const { entry, json } of histories) {
    total += json.length;
    log(`${path.relative(repoRoot, path.join(target, historyFileName(entry.scenario)))}: ${entry.events} events, ${(json.length / 1024).toFixed(1)} KB`);
  }
  log(`${histories.length} histories, ${(total / 1024).toFixed(1)} KB in ${path.relative(repoRoot, target)}`);
}

async function main(): Promise<void> {
  const packageJson = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
  await assertWorkflowCodeCommitted();
  const commit = await git('rev-parse', 'HEAD');
  const label = labelOption(process.argv.slice(2)) ?? `${packageJson.version}-${commit.slice(0, 7)}`;
  const cli = await findTemporalCli({ log });
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-replay-record-'));
  const cleanups: Array<() => Promise<unknown>> = [() => fs.rm(root, { recursive: true, force: true })];
  try {
    const server = await startDevServer({ cli, dataDir: path.join(root, 'temporal') });
    cleanups.unshift(() => server.stop());
    const workflowBundle = path.join(root, 'workflow-bundle.js');
    await fs.writeFile(workflowBundle, await buildWorkflowBundle());
    // A short dispatch timeout, so a killed runner's run moves on in seconds rather than 30.
    const stack = await TestStack.create({ temporalAddress: server.address, workflowBundle, apiEnv: { AO_DISPATCH_TIMEOUT_SECONDS: '3' } });
    cleanups.unshift(() => stack.stop());
    log(`recording ${label} from ${commit} on ${server.address}`);

    const records = await driveScenarios(stack, log);
    const histories = await Promise.all(records.map((record) => recordHistory(stack.client, record, stack.token)));
    await writeSet(
      {
        label,
        format: HISTORY_FORMAT,
        version: packageJson.version,
        commit,
        recorded_at: new Date().toISOString(),
        temporal_sdk: packageJson.dependencies['@temporalio/workflow'] ?? 'unknown',
        temporal_cli: (await run(cli, ['--version'])).stdout.trim(),
        histories: histories.map(({ entry }) => entry),
      },
      histories,
    );
  } finally {
    // Each step on its own: a stack that failed to stop must not leave the dev server running.
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  }
}

main().catch((error: unknown) => {
  console.error(`replay:record: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

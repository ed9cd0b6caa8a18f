import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { HISTORIES_DIR, historyFileName, readHistorySets } from './support/recorded-histories.js';
import { replaySinks } from './support/replay-sinks.js';

// Read while the file is collected: a history that cannot be read fails it with its path, before any replay.
const sets = await readHistorySets();
const files = sets.flatMap((set) => set.files);

describe('upgrading workflow code with runs in flight', () => {
  it('replays every history recorded from earlier releases against the current workflow code without an error', async () => {
    expect(files.length, `no recorded histories under ${HISTORIES_DIR}`).toBeGreaterThan(0);
    const histories = files.map(({ file, entry, history }) => ({ workflowId: entry?.workflow_id ?? file, history }));
    const failures: Array<{ file: string; error: string }> = [];
    let replayed = 0;
    // One replay worker for them all, configured as the control worker is (test/support/replay-sinks.ts);
    // it replays one history at a time and yields their results in order.
    const sinks = replaySinks();
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundle') }, sinks }, histories)) {
      const { file } = files[replayed]!;
      replayed += 1;
      if (result.error) failures.push({ file, error: `${result.error.name}: ${result.error.message}` });
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });

  it('describes every recorded history in the index of its set, and the index names no missing file', () => {
    for (const set of sets) {
      expect(set.files.filter((file) => !file.entry).map((file) => file.file)).toEqual([]);
      const onDisk = set.files.map((file) => path.basename(file.file));
      expect(set.index.histories.map((entry) => historyFileName(entry.scenario)).sort()).toEqual(onDisk.sort());
      expect(set.index.label).toBe(set.label);
    }
  });
});

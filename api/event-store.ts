import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunEvent, RunEventInput } from '../core/contract/events.js';
import { PRIVATE_FILE_MODE, ensurePrivateDir } from '../core/config/private-files.js';

export interface EventStore {
  /**
   * Stores the events not seen before (by run, source and seq) and returns them with their ids,
   * once they are durably written. When it throws, none of them is stored or counted as seen, so
   * the same batch can be sent again.
   */
  append(events: RunEventInput[]): Promise<RunEvent[]>;
  /** A run's events with id > `after`, oldest first. */
  list(runId: string, after: number, limit: number): Promise<RunEvent[]>;
  /** Calls `listener` with each event stored for the run from now on; returns the unsubscribe. */
  subscribe(runId: string, listener: (event: RunEvent) => void): () => void;
}

interface RunIndex {
  lastId: number;
  keys: Set<string>;
}

const NEWLINE = 0x0a;

const dedupeKey = (event: RunEventInput): string => `${event.source}#${event.seq}`;

/** Groups a batch by run, keeping each run's events in batch order. */
export function byRun<T extends { run_id: string }>(events: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const event of events) groups.set(event.run_id, [...(groups.get(event.run_id) ?? []), event]);
  return groups;
}

/** One run's share of a batch, written but not yet committed to the index. */
interface PendingWrite {
  runId: string;
  index: RunIndex;
  fresh: RunEvent[];
  file: fs.FileHandle;
  sizeBefore: number;
}

/**
 * The embedded event store: one JSON-lines file per run under the data dir (a folder and files
 * only their owner can read). Appends go through one queue, so ids are dense and ordered; for one
 * API process (use PostgreSQL for more). A batch is written and fsynced before it counts: a write
 * that fails (a full disk) is cut back off every file it touched, and nothing of it is marked seen.
 */
export class FileEventStore implements EventStore {
  private readonly indexes = new Map<string, RunIndex>();
  private readonly emitter = new EventEmitter();
  private queue: Promise<unknown> = Promise.resolve();
  private dirReady: Promise<void> | undefined;

  constructor(private readonly dir: string) {
    this.emitter.setMaxListeners(0);
  }

  private file(runId: string): string {
    // Run ids are validated by the schemas ([A-Za-z0-9-]), so they are safe as file names.
    return path.join(this.dir, `${runId}.jsonl`);
  }

  private async read(runId: string): Promise<RunEvent[]> {
    const text = await fs.readFile(this.file(runId), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    // Whatever follows the last newline is a write that never finished: not an event.
    const lines = text.split('\n').slice(0, -1);
    return lines.filter((line) => line.trim()).map((line) => JSON.parse(line) as RunEvent);
  }

  private async index(runId: string): Promise<RunIndex> {
    let index = this.indexes.get(runId);
    if (!index) {
      const events = await this.read(runId);
      index = { lastId: events.at(-1)?.id ?? 0, keys: new Set(events.map(dedupeKey)) };
      this.indexes.set(runId, index);
    }
    return index;
  }

  append(events: RunEventInput[]): Promise<RunEvent[]> {
    const work = this.queue.then(() => this.appendNow(events));
    this.queue = work.catch(() => undefined);
    return work;
  }

  private async appendNow(events: RunEventInput[]): Promise<RunEvent[]> {
    await (this.dirReady ??= ensurePrivateDir(this.dir).catch((error: unknown) => {
      this.dirReady = undefined;
      throw error;
    }));
    const writes: PendingWrite[] = [];
    try {
      for (const [runId, runEvents] of byRun(events)) {
        const index = await this.index(runId);
        const seen = new Set<string>();
        const fresh: RunEvent[] = [];
        for (const event of runEvents) {
          const key = dedupeKey(event);
          if (index.keys.has(key) || seen.has(key)) continue;
          seen.add(key);
          fresh.push({ ...event, id: index.lastId + fresh.length + 1 });
        }
        if (fresh.length) writes.push(await this.write(runId, index, fresh));
      }
    } catch (error) {
      await Promise.all(writes.map((write) => this.undo(write)));
      throw error;
    }
    // Every file of the batch is on disk: only now do its events count as seen, get their ids, and go out.
    const stored: RunEvent[] = [];
    for (const { runId, index, fresh, file } of writes) {
      await file.close().catch(() => undefined);
      for (const event of fresh) index.keys.add(dedupeKey(event));
      index.lastId += fresh.length;
      stored.push(...fresh);
      for (const event of fresh) this.emitter.emit(runId, event);
    }
    return stored;
  }

  /** Appends and fsyncs one run's new lines; on failure cuts the file back to where it was. */
  private async write(runId: string, index: RunIndex, fresh: RunEvent[]): Promise<PendingWrite> {
    const file = await fs.open(this.file(runId), 'a+', PRIVATE_FILE_MODE);
    const pending: PendingWrite = { runId, index, fresh, file, sizeBefore: 0 };
    try {
      pending.sizeBefore = (await file.stat()).size;
      // The mode given to open applies to new files only; one from before ao set modes is narrowed too.
      if (pending.sizeBefore > 0) await file.chmod(PRIVATE_FILE_MODE);
      // After a write that could not be cut back, start on a line of our own.
      const lastByte = pending.sizeBefore > 0 ? (await file.read(Buffer.alloc(1), 0, 1, pending.sizeBefore - 1)).buffer[0] : NEWLINE;
      const lines = fresh.map((event) => `${JSON.stringify(event)}\n`).join('');
      // appendFile, not write: write may take only part of it (a disk nearly full) and still succeed.
      await file.appendFile(lastByte === NEWLINE ? lines : `\n${lines}`);
      await file.sync();
      // A new file is durable only once its directory entry is.
      if (pending.sizeBefore === 0) await syncDir(this.dir);
      return pending;
    } catch (error) {
      await this.undo(pending);
      throw error;
    }
  }

  private async undo({ runId, file, sizeBefore }: PendingWrite): Promise<void> {
    try {
      await file.truncate(sizeBefore);
      await file.sync();
    } catch {
      // The file may end in part of the batch: read it afresh next time rather than trust the cached index.
      this.indexes.delete(runId);
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  async list(runId: string, after: number, limit: number): Promise<RunEvent[]> {
    await this.queue;
    return (await this.read(runId)).filter((event) => event.id > after).slice(0, limit);
  }

  subscribe(runId: string, listener: (event: RunEvent) => void): () => void {
    this.emitter.on(runId, listener);
    return () => this.emitter.off(runId, listener);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

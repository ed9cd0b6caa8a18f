import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunEvent, RunEventInput } from '../core/contract/events.js';

export interface EventStore {
  /** Stores events not seen before (by run, source and seq); returns those stored, with their ids. */
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

const dedupeKey = (event: RunEventInput): string => `${event.source}#${event.seq}`;

/**
 * The embedded event store: one JSON-lines file per run under the data dir. Appends go through
 * one queue, so ids are dense and ordered; for one API process (use PostgreSQL for more).
 */
export class FileEventStore implements EventStore {
  private readonly indexes = new Map<string, RunIndex>();
  private readonly emitter = new EventEmitter();
  private queue: Promise<unknown> = Promise.resolve();

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
    return text
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as RunEvent);
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
    const work = this.queue.then(async () => {
      await fs.mkdir(this.dir, { recursive: true });
      const stored: RunEvent[] = [];
      const byRun = new Map<string, RunEventInput[]>();
      for (const event of events) byRun.set(event.run_id, [...(byRun.get(event.run_id) ?? []), event]);
      for (const [runId, runEvents] of byRun) {
        const index = await this.index(runId);
        const fresh: RunEvent[] = [];
        for (const event of runEvents) {
          const key = dedupeKey(event);
          if (index.keys.has(key)) continue;
          index.keys.add(key);
          fresh.push({ ...event, id: ++index.lastId });
        }
        if (fresh.length === 0) continue;
        await fs.appendFile(this.file(runId), fresh.map((event) => `${JSON.stringify(event)}\n`).join(''));
        stored.push(...fresh);
        for (const event of fresh) this.emitter.emit(runId, event);
      }
      return stored;
    });
    this.queue = work.catch(() => undefined);
    return work;
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

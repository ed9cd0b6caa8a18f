import pg from 'pg';
import type { RunEvent, RunEventInput } from '../core/contract/events.js';
import { byRun, type EventStore } from './event-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ao_events (
  run_id text NOT NULL,
  id bigint NOT NULL,
  source text NOT NULL,
  seq integer NOT NULL,
  kind text NOT NULL,
  at timestamptz NOT NULL,
  data jsonb NOT NULL,
  PRIMARY KEY (run_id, id),
  UNIQUE (run_id, source, seq)
)`;
const CHANNEL = 'ao_events';

interface Row {
  run_id: string;
  id: string;
  source: string;
  seq: number;
  kind: RunEvent['kind'];
  at: Date;
  data: Record<string, unknown>;
}

const toEvent = (row: Row): RunEvent => ({ ...row, id: Number(row.id), at: row.at.toISOString() });

/**
 * `data` as jsonb can hold it: jsonb has no NUL character and no lone surrogate, so each becomes
 * U+FFFD, the replacement character (a terminal chunk of binary output, say), instead of failing the batch.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what jsonb cannot hold.
const NOT_IN_JSONB = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(NOT_IN_JSONB, '\uFFFD');
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableJson(key), storableJson(item)]));
  return value;
}

/** How this store's connections show in pg_stat_activity. */
export const POSTGRES_APPLICATION_NAME = 'ao-api';

/**
 * The PostgreSQL event store (`DATABASE_URL`): several API processes can share it. Ids are dense
 * per run (a per-run advisory lock orders appends), duplicates are dropped by the unique key, and
 * LISTEN/NOTIFY tells every API process's SSE streams about new events.
 */
export class PostgresEventStore implements EventStore {
  private readonly listeners = new Map<string, Set<{ lastId: number; deliver: (event: RunEvent) => void }>>();

  private constructor(private readonly pool: pg.Pool, private readonly listener: pg.Client) {}

  static async connect(connectionString: string, log: (message: string) => void = console.error): Promise<PostgresEventStore> {
    const pool = new pg.Pool({ connectionString, max: 10, application_name: POSTGRES_APPLICATION_NAME });
    // A pooled connection the server ends (a restart, an administrator) is dropped from the pool, not a crash.
    pool.on('error', (error) => log(`event store: a PostgreSQL connection failed: ${error.message}`));
    await pool.query(SCHEMA);
    const listener = new pg.Client({ connectionString, application_name: `${POSTGRES_APPLICATION_NAME}-listen` });
    await listener.connect();
    const store = new PostgresEventStore(pool, listener);
    listener.on('notification', (message) => void store.fanOut(message.payload ?? ''));
    await listener.query(`LISTEN ${CHANNEL}`);
    return store;
  }

  async append(events: RunEventInput[]): Promise<RunEvent[]> {
    const runs = byRun(events);
    if (runs.size === 0) return [];
    // One transaction for the whole batch: it is stored whole, or (on any error) not at all.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Locks in one order, so two batches for the same runs cannot deadlock.
      for (const runId of [...runs.keys()].sort()) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [runId]);
      const stored: RunEvent[] = [];
      for (const [runId, runEvents] of runs) {
        const { rows } = await client.query<{ last: string | null }>('SELECT max(id) AS last FROM ao_events WHERE run_id = $1', [runId]);
        let next = Number(rows[0]?.last ?? 0);
        for (const event of runEvents) {
          const inserted = await client.query<Row>(
            `INSERT INTO ao_events (run_id, id, source, seq, kind, at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (run_id, source, seq) DO NOTHING RETURNING *`,
            [runId, next + 1, event.source, event.seq, event.kind, new Date(event.at), storableJson(event.data)],
          );
          if (inserted.rows[0]) {
            next += 1;
            stored.push(toEvent(inserted.rows[0]));
          }
        }
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, runId]);
      }
      // Acknowledged only once committed (synchronous_commit: the commit is on disk).
      await client.query('COMMIT');
      return stored;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async list(runId: string, after: number, limit: number): Promise<RunEvent[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM ao_events WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3', [runId, after, limit]);
    return rows.map(toEvent);
  }

  subscribe(runId: string, listener: (event: RunEvent) => void): () => void {
    // From the run's first event: the caller drops what its replay already sent, and nothing slips between.
    const entry = { lastId: 0, deliver: listener };
    const set = this.listeners.get(runId) ?? new Set();
    set.add(entry);
    this.listeners.set(runId, set);
    return () => {
      set.delete(entry);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  private async fanOut(runId: string): Promise<void> {
    const set = this.listeners.get(runId);
    if (!set) return;
    for (const entry of set) {
      const events = await this.list(runId, entry.lastId, 1000);
      for (const event of events) {
        if (event.id <= entry.lastId) continue;
        entry.lastId = event.id;
        entry.deliver(event);
      }
    }
  }

  async close(): Promise<void> {
    await this.listener.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

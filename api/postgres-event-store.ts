import pg from 'pg';
import type { RunEvent, RunEventInput } from '../core/contract/events.js';
import type { EventStore } from './event-store.js';

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
 * The PostgreSQL event store (`DATABASE_URL`): several API processes can share it. Ids are dense
 * per run (a per-run advisory lock orders appends), duplicates are dropped by the unique key, and
 * LISTEN/NOTIFY tells every API process's SSE streams about new events.
 */
export class PostgresEventStore implements EventStore {
  private readonly listeners = new Map<string, Set<{ lastId: number; deliver: (event: RunEvent) => void }>>();

  private constructor(private readonly pool: pg.Pool, private readonly listener: pg.Client) {}

  static async connect(connectionString: string): Promise<PostgresEventStore> {
    const pool = new pg.Pool({ connectionString, max: 10 });
    await pool.query(SCHEMA);
    const listener = new pg.Client({ connectionString });
    await listener.connect();
    const store = new PostgresEventStore(pool, listener);
    listener.on('notification', (message) => void store.fanOut(message.payload ?? ''));
    await listener.query(`LISTEN ${CHANNEL}`);
    return store;
  }

  async append(events: RunEventInput[]): Promise<RunEvent[]> {
    const byRun = new Map<string, RunEventInput[]>();
    for (const event of events) byRun.set(event.run_id, [...(byRun.get(event.run_id) ?? []), event]);
    const stored: RunEvent[] = [];
    for (const [runId, runEvents] of byRun) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [runId]);
        const { rows } = await client.query<{ last: string | null }>('SELECT max(id) AS last FROM ao_events WHERE run_id = $1', [runId]);
        let next = Number(rows[0]?.last ?? 0);
        for (const event of runEvents) {
          const inserted = await client.query<Row>(
            `INSERT INTO ao_events (run_id, id, source, seq, kind, at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (run_id, source, seq) DO NOTHING RETURNING *`,
            [runId, next + 1, event.source, event.seq, event.kind, event.at, event.data],
          );
          if (inserted.rows[0]) {
            next += 1;
            stored.push(toEvent(inserted.rows[0]));
          }
        }
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, runId]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    }
    return stored;
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

import fs from 'node:fs';
import path from 'node:path';
import type { EventKind, RunEventInput } from '../../core/contract/events.js';
import type { Redactor } from '../../core/contract/secrets.js';

export interface EventSpoolOptions {
  /** Where undelivered events wait, one JSON line each; survives runner restarts. */
  spoolFile: string;
  /** The API's events endpoint; unset keeps events in the spool only. */
  apiUrl?: string;
  apiToken?: string;
  /** Identifies this runner process in every event's `source`. */
  instanceId: string;
  /** Every event's data is redacted before it is spooled: secrets never reach the disk or the API. */
  redactor: Redactor;
  flushIntervalMs?: number;
  log?: (message: string) => void;
}

const MAX_BATCH = 500;

/**
 * The runner's side of the event pipeline: every event is appended to a spool file first (so a
 * crash or an unreachable API loses nothing), then sent to the API in order, in batches, with
 * retries. The API stores each (source, seq) once, so resending after a crash is harmless.
 */
export class EventSpool {
  private seq = 0;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly offsetFile: string;

  constructor(private readonly options: EventSpoolOptions) {
    fs.mkdirSync(path.dirname(options.spoolFile), { recursive: true });
    this.offsetFile = `${options.spoolFile}.offset`;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 100);
  }

  /** Records one event for a run; `attempt` keeps sources distinct across retries of the same run. */
  emit(runId: string, attempt: number, kind: EventKind, data: Record<string, unknown>): void {
    const event: RunEventInput = {
      run_id: runId,
      source: `${this.options.instanceId}/${attempt}`,
      seq: this.seq++,
      kind,
      at: new Date().toISOString(),
      data: this.options.redactor.value(data),
    };
    fs.appendFileSync(this.options.spoolFile, `${JSON.stringify(event)}\n`);
  }

  /** Sends what the spool holds; resolves when it is empty or the API cannot be reached now. */
  async flush(): Promise<void> {
    if (this.sending || !this.options.apiUrl) return;
    this.sending = true;
    try {
      for (;;) {
        const { events, end } = this.pending();
        if (events.length === 0) {
          this.compact();
          return;
        }
        const response = await fetch(`${this.options.apiUrl}/internal/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(this.options.apiToken ? { authorization: `Bearer ${this.options.apiToken}` } : {}) },
          body: JSON.stringify({ events }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok) throw new Error(`API answered ${response.status}: ${await response.text()}`);
        fs.writeFileSync(this.offsetFile, String(end));
        this.failures = 0;
      }
    } catch (error) {
      // Kept in the spool; the next flush retries in order.
      if (this.failures++ === 0) this.options.log?.(`events wait in ${this.options.spoolFile}: ${(error as Error).message}`);
    } finally {
      this.sending = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private offset(): number {
    try {
      return Number(fs.readFileSync(this.offsetFile, 'utf8')) || 0;
    } catch {
      return 0;
    }
  }

  private pending(): { events: RunEventInput[]; end: number } {
    const start = this.offset();
    let buffer: Buffer;
    try {
      const fd = fs.openSync(this.options.spoolFile, 'r');
      try {
        buffer = Buffer.alloc(Math.max(0, Math.min(fs.fstatSync(fd).size - start, 4 * 1024 * 1024)));
        fs.readSync(fd, buffer, 0, buffer.length, start);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return { events: [], end: start };
    }
    // Only whole lines: the last one may be cut by the read limit.
    const whole = buffer.subarray(0, buffer.lastIndexOf(0x0a) + 1).toString('utf8');
    const lines = whole.split('\n').slice(0, -1).slice(0, MAX_BATCH);
    const consumed = lines.reduce((bytes, line) => bytes + Buffer.byteLength(line) + 1, 0);
    return { events: lines.filter((line) => line.trim()).map((line) => JSON.parse(line) as RunEventInput), end: start + consumed };
  }

  /** Once everything was delivered, the spool starts over empty. */
  private compact(): void {
    try {
      if (fs.statSync(this.options.spoolFile).size <= this.offset()) {
        fs.truncateSync(this.options.spoolFile, 0);
        fs.writeFileSync(this.offsetFile, '0');
      }
    } catch {
      // Nothing spooled yet.
    }
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH, type EventKind, type RunEventInput } from '../../core/contract/events.js';
import type { Redactor } from '../../core/contract/secrets.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/config/private-files.js';

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

const MAX_BATCH = Math.min(500, MAX_EVENTS_PER_BATCH);
/** How much of the spool one flush reads: every event fits (the runner truncates larger ones). */
const MAX_READ_BYTES = 4 * MAX_EVENT_BYTES;
/** How much of an oversized event's data its truncated form keeps, as JSON text. */
const PREVIEW_CHARS = 64 * 1024;
/** Answers that mean "this batch holds bad input", not "try again later": its events are sent apart to find the culprit. */
const REFUSED_STATUSES = new Set([400, 413]);

/** The API's answer to a batch it did not store. */
class BatchNotStoredError extends Error {
  constructor(readonly status: number, readonly reason: string) {
    super(`API answered ${status}: ${reason}`);
    this.name = 'BatchNotStoredError';
  }
}

/** An event's data too large for the API, cut down to a marker and the start of it. */
function truncatedData(data: Record<string, unknown>, bytes: number): Record<string, unknown> {
  return { truncated: { bytes, limit: MAX_EVENT_BYTES }, preview: JSON.stringify(data).slice(0, PREVIEW_CHARS) };
}

/**
 * The runner's side of the event pipeline: every event is appended to a spool file first (so a
 * crash or an unreachable API loses nothing), then sent to the API in order, in batches, with
 * retries. The API stores each (source, seq) once, so resending after a crash is harmless.
 *
 * Nothing is dropped silently: a batch the API could not store (5xx, unreachable, 401) waits and
 * is sent again; a batch it refuses as bad input (400, 413) is split until each refused event is
 * alone, and that event is logged and replaced in place (same source and seq) by an `alert` saying
 * why. An event larger than the API takes is truncated here, at emit, with a marker.
 */
export class EventSpool {
  private seq = 0;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** A flush is queued for the next turn of the event loop. */
  private scheduled = false;
  private readonly offsetFile: string;
  /** Events spooled and not yet delivered (a metric): counted once at start, then kept as events come and go. */
  private undelivered = 0;

  constructor(private readonly options: EventSpoolOptions) {
    // Events carry run output: the spool is its owner's only.
    fs.mkdirSync(path.dirname(options.spoolFile), { recursive: true, mode: PRIVATE_DIR_MODE });
    fs.chmodSync(path.dirname(options.spoolFile), PRIVATE_DIR_MODE);
    this.offsetFile = `${options.spoolFile}.offset`;
    this.endUnfinishedLine();
    this.undelivered = this.countUndelivered();
  }

  /** How many events wait in the spool for the API. */
  depth(): number {
    return this.undelivered;
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
    let line = JSON.stringify(event);
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_EVENT_BYTES) {
      this.options.log?.(`event ${kind} #${event.seq} of run ${runId} is ${bytes} bytes, more than the API takes (${MAX_EVENT_BYTES}): truncated`);
      line = JSON.stringify({ ...event, data: truncatedData(event.data, bytes) });
    }
    fs.appendFileSync(this.options.spoolFile, `${line}\n`, { mode: PRIVATE_FILE_MODE });
    this.undelivered += 1;
    this.soon();
  }

  /**
   * A new event goes out at once rather than at the next tick of the interval (which stays, to retry):
   * while a batch is in flight, the events emitted meanwhile gather and go out as the next batch.
   */
  private soon(): void {
    // After a failure the interval alone retries: an API that is down is not asked at every event.
    if (this.scheduled || this.sending || this.failures > 0 || !this.timer || !this.options.apiUrl) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Sends what the spool holds; resolves when it is empty or the API cannot be reached now. */
  async flush(): Promise<void> {
    if (this.sending || !this.options.apiUrl) return;
    this.sending = true;
    try {
      for (;;) {
        const { events, end, lines } = this.pending();
        if (end === this.offset()) {
          this.compact();
          return;
        }
        if (events.length) await this.deliver(events);
        fs.writeFileSync(this.offsetFile, String(end));
        this.undelivered = Math.max(0, this.undelivered - lines);
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

  private async post(events: RunEventInput[]): Promise<void> {
    const response = await fetch(`${this.options.apiUrl}/internal/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.options.apiToken ? { authorization: `Bearer ${this.options.apiToken}` } : {}) },
      body: JSON.stringify({ events }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new BatchNotStoredError(response.status, (await response.text()).slice(0, 2000));
  }

  /** Sends `events`; when the API refuses them as bad input, halves the batch until the refused events are alone. */
  private async deliver(events: RunEventInput[]): Promise<void> {
    try {
      await this.post(events);
    } catch (error) {
      if (!(error instanceof BatchNotStoredError && REFUSED_STATUSES.has(error.status))) throw error;
      if (events.length === 1) return this.replaceRefused(events[0]!, error);
      const half = Math.ceil(events.length / 2);
      await this.deliver(events.slice(0, half));
      await this.deliver(events.slice(half));
    }
  }

  /** Logs a refused event and stores an alert in its place, so the run's timeline shows what is missing. */
  private async replaceRefused(event: RunEventInput, refusal: BatchNotStoredError): Promise<void> {
    const what = `event ${event.kind} #${event.seq} of run ${event.run_id}`;
    this.options.log?.(`the API refused ${what} (${refusal.message}); an alert takes its place`);
    const alert: RunEventInput = {
      ...event,
      kind: 'alert',
      at: new Date().toISOString(),
      data: { kind: 'event_refused', message: `a ${event.kind} event was refused by the API and dropped: ${refusal.reason}`, refused_kind: event.kind, refused_status: refusal.status },
    };
    try {
      await this.post([alert]);
    } catch (error) {
      if (!(error instanceof BatchNotStoredError && REFUSED_STATUSES.has(error.status))) throw error;
      this.options.log?.(`the API refused the alert for ${what} too (${error.message}): the event is dropped`);
    }
  }

  private offset(): number {
    try {
      return Number(fs.readFileSync(this.offsetFile, 'utf8')) || 0;
    } catch {
      return 0;
    }
  }

  /** A runner killed in the middle of an append leaves half a line: end it, so the next event starts on its own. */
  private endUnfinishedLine(): void {
    try {
      const fd = fs.openSync(this.options.spoolFile, 'r+');
      try {
        fs.fchmodSync(fd, PRIVATE_FILE_MODE);
        const size = fs.fstatSync(fd).size;
        const last = Buffer.alloc(1);
        if (size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a) fs.writeSync(fd, '\n', size);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // No spool yet.
    }
  }

  /** Non-empty lines after the offset: what a runner restarted with a full spool still has to send. */
  private countUndelivered(): number {
    try {
      const text = fs.readFileSync(this.options.spoolFile).subarray(this.offset()).toString('utf8');
      return text.split('\n').filter((line) => line.trim()).length;
    } catch {
      return 0;
    }
  }

  private pending(): { events: RunEventInput[]; end: number; lines: number } {
    const start = this.offset();
    let buffer: Buffer;
    try {
      const fd = fs.openSync(this.options.spoolFile, 'r');
      try {
        buffer = Buffer.alloc(Math.max(0, Math.min(fs.fstatSync(fd).size - start, MAX_READ_BYTES)));
        fs.readSync(fd, buffer, 0, buffer.length, start);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return { events: [], end: start, lines: 0 };
    }
    // Only whole lines: the last one may be cut by the read limit.
    const whole = buffer.subarray(0, buffer.lastIndexOf(0x0a) + 1).toString('utf8');
    const lines = whole.split('\n').slice(0, -1).slice(0, MAX_BATCH);
    const consumed = lines.reduce((bytes, line) => bytes + Buffer.byteLength(line) + 1, 0);
    const events: RunEventInput[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line) as RunEventInput);
      } catch {
        this.options.log?.(`skipped a line of ${this.options.spoolFile} that is not an event (an append cut short by a crash): ${line.slice(0, 200)}`);
      }
    }
    return { events, end: start + consumed, lines: lines.filter((line) => line.trim()).length };
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

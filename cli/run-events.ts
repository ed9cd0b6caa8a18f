import { setTimeout as sleep } from 'node:timers/promises';
import { RunEvent } from '../core/contract/events.js';
import { EventPage, RunView } from '../core/contract/http.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import { SseParser } from '../core/contract/sse.js';
import type { ApiClient } from './api-client.js';
import { CliError } from './errors.js';
import { EXIT, RUN_OUTCOME_EXIT } from './exit-codes.js';
import type { Output } from './output.js';

/** How often a followed run's status is read: the event stream does not say when the run has ended. */
const STATUS_POLL_MS = 1000;
/** After the run has ended its runner may still be sending its last events: wait for a quiet stream this long… */
const DRAIN_QUIET_MS = 500;
/** …but never longer than this after the end (a runner that died never sends its `session_ended`). */
const DRAIN_LIMIT_MS = 10_000;
/** A dropped stream is reopened (with Last-Event-ID) this many times in a row before `ao` gives up. */
const MAX_RECONNECTS = 10;
const RECONNECT_DELAY_MS = 1000;

const encode = encodeURIComponent;

/** Prints one event: terminal output as it came, other events as one line on stderr; `--json`: one JSON line each. */
export function printEvent(out: Output, event: RunEvent): void {
  if (out.json) return out.data(event, { line: true });
  const { data } = event;
  if (event.kind === 'terminal_chunk' && typeof data.text === 'string') return out.raw(data.text, data.stream === 'stderr' ? 'stderr' : 'stdout');
  if (event.kind === 'message' && typeof data.text === 'string') return out.raw(data.text.endsWith('\n') ? data.text : `${data.text}\n`);
  out.raw(`${out.paint('cyan', `[${event.kind}]`)} ${summary(data)}\n`, 'stderr');
}

/** The event's scalar fields as `key=value`, clipped to a line. */
function summary(data: Record<string, unknown>): string {
  const text = Object.entries(data)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

/** Every event the run has so far, page by page. */
export async function printStoredEvents(client: ApiClient, out: Output, runId: string): Promise<void> {
  // The events route answers an unknown run with no events: ask for the run, so a typo is a 404.
  await client.get(`/runs/${encode(runId)}`, { schema: RunView });
  let after = 0;
  for (;;) {
    const page = await client.get(`/runs/${encode(runId)}/events`, { query: { after }, schema: EventPage });
    for (const event of page.events) printEvent(out, event);
    if (page.next_after === undefined || page.events.length === 0) return;
    after = page.next_after;
  }
}

/**
 * Streams a run's events (replayed from the start, then live) until the run has ended and its
 * last events have arrived; returns the exit code of its outcome (0 completed, 3 failed, 4 stopped).
 */
export async function followRun(client: ApiClient, out: Output, runId: string): Promise<number> {
  let run = await client.get(`/runs/${encode(runId)}`, { schema: RunView });
  const stop = new AbortController();
  let last = 0;
  let lastEventAt = Date.now();
  let sessionEnded = false;

  const stream = (async () => {
    let failures = 0;
    while (!stop.signal.aborted) {
      try {
        await readStream(client, runId, last, stop.signal, (event) => {
          last = event.id;
          lastEventAt = Date.now();
          if (event.kind === 'session_ended') sessionEnded = true;
          printEvent(out, event);
          failures = 0;
        });
      } catch (error) {
        if (stop.signal.aborted) return;
        if (++failures > MAX_RECONNECTS) throw error;
      }
      if (!stop.signal.aborted) await sleep(RECONNECT_DELAY_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();

  try {
    out.progress(`run ${runId} ${run.status}${run.pending_reason ? `: ${run.pending_reason}` : ''}`);
    while (!isFinalRunStatus(run.status)) {
      await Promise.race([sleep(STATUS_POLL_MS), stream]);
      const previous = run;
      run = await client.get(`/runs/${encode(runId)}`, { schema: RunView });
      if (run.status !== previous.status || run.pending_reason !== previous.pending_reason) out.progress(`run ${runId} ${run.status}${run.pending_reason ? `: ${run.pending_reason}` : ''}`);
    }
    // An executor ran: its runner sends the last events (session_ended, the diff, hooks) a moment after the end.
    const ran = run.executor_started_at !== undefined || run.history.some((change) => change.status === 'running');
    const endedAt = Date.now();
    while (Date.now() - endedAt < DRAIN_LIMIT_MS && !((sessionEnded || !ran) && Date.now() - lastEventAt >= DRAIN_QUIET_MS)) {
      await Promise.race([sleep(100), stream]);
    }
  } finally {
    stop.abort();
    await stream.catch(() => undefined);
  }
  if (!out.json) {
    const error = run.error ? `: ${run.error.type}: ${run.error.message}` : '';
    out.note(`${out.paint(run.status === 'completed' ? 'green' : 'red', `run ${run.run_id} ${run.status}`)}${error}`);
  }
  return isFinalRunStatus(run.status) ? RUN_OUTCOME_EXIT[run.status] : EXIT.failed;
}

/** One SSE connection: resolves when the server ends it, or when `signal` aborts. */
async function readStream(client: ApiClient, runId: string, lastEventId: number, signal: AbortSignal, onEvent: (event: RunEvent) => void): Promise<void> {
  let response: Response;
  try {
    response = await client.openEventStream(runId, lastEventId, signal);
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  if (!response.body) throw new CliError('the event stream has no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  let seen = lastEventId;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const message of parser.push(value)) {
        const parsed = RunEvent.safeParse(safeJson(message.data));
        // A kind this CLI does not know yet is skipped, never the stream.
        if (!parsed.success || parsed.data.id <= seen) continue;
        seen = parsed.data.id;
        onEvent(parsed.data);
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

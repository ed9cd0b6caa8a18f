import { BENCH_AGENT, percentile, startBenchStack, type BenchStack } from './support.js';

/**
 * `npm run bench:events`: echo runs print timestamped `tick <n> <ms>` lines as fast as they can
 * (BENCH_TICK_INTERVAL_MS, default 0, apart); an SSE client per run reads its events and measures,
 * for every line, printed by the executor → received over SSE. First one run of BENCH_TICKS (20000)
 * lines, then the same paced at BENCH_PACED_RATE lines/s (the latency at the goal's rate), then BENCH_PARALLEL_RUNS (10) runs of BENCH_PARALLEL_TICKS (10000) lines at once. Printed: lines/s and
 * events/s (an event may carry several lines: output is read in chunks), p50/p99 latency, and
 * lines lost (a tick never received) or duplicated (received twice). Goals (issue 19): ≥ 5,000/s
 * from one run with p99 ≤ 50 ms, ≥ 20,000/s across 10 runs, nothing lost or duplicated.
 */
const ticks = Number(process.env.BENCH_TICKS ?? 20_000);
const parallelRuns = Number(process.env.BENCH_PARALLEL_RUNS ?? 10);
const parallelTicks = Number(process.env.BENCH_PARALLEL_TICKS ?? 10_000);
const intervalMs = Number(process.env.BENCH_TICK_INTERVAL_MS ?? 0);
/** The paced measurement: BENCH_PACED_RATE (5000) lines/s from one run, in steps of 2 ms, for latency at the goal's rate. */
const pacedRate = Number(process.env.BENCH_PACED_RATE ?? 5000);
const PACE_STEP_MS = 2;

interface RunReading {
  latencies: number[];
  events: number;
  /** How often each tick was received. */
  seen: Uint32Array;
  first: number;
  last: number;
}

/** Opens the run's SSE stream and reads it until its session ends. */
async function readRun(stack: BenchStack, id: string, expected: number): Promise<RunReading> {
  const stream = await fetch(`${stack.apiUrl}/runs/${id}/events`, { headers: { ...stack.headers, accept: 'text/event-stream' } });
  const reading: RunReading = { latencies: [], events: 0, seen: new Uint32Array(expected), first: 0, last: 0 };
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary;
    let ended = false;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (!data) continue;
      const now = Date.now();
      const event = JSON.parse(data.slice(6)) as { kind: string; data: { text?: string } };
      reading.events += 1;
      for (const match of (event.data.text ?? '').matchAll(/tick (\d+) (\d+)/g)) {
        const tick = Number(match[1]);
        if (tick < expected) reading.seen[tick]! += 1;
        reading.latencies.push(now - Number(match[2]));
        reading.first ||= now;
        reading.last = now;
      }
      if (event.kind === 'session_ended') ended = true;
    }
    if (ended) break;
  }
  return reading;
}

interface Pace {
  tick_interval_ms: number;
  ticks_per_interval?: number;
}

async function postRun(stack: BenchStack, lines: number, pace: Pace): Promise<string> {
  const response = await fetch(`${stack.apiUrl}/runs`, {
    method: 'POST',
    headers: stack.headers,
    body: JSON.stringify({ agent: BENCH_AGENT, parameters: { ticks: lines, ...pace } }),
  });
  return ((await response.json()) as { id: string }).id;
}

/** Runs `runs` runs of `lines` lines at once and prints what their SSE clients saw. */
async function measure(stack: BenchStack, label: string, runs: number, lines: number, pace: Pace = { tick_interval_ms: intervalMs }): Promise<void> {
  const ids = await Promise.all(Array.from({ length: runs }, () => postRun(stack, lines, pace)));
  const readings = await Promise.all(ids.map((id) => readRun(stack, id, lines)));
  const latencies = readings.flatMap((reading) => reading.latencies).sort((a, b) => a - b);
  const received = readings.reduce((sum, reading) => sum + reading.seen.reduce((count, times) => count + Math.min(times, 1), 0), 0);
  const lost = runs * lines - received;
  const duplicated = readings.reduce((sum, reading) => sum + reading.seen.reduce((count, times) => count + Math.max(0, times - 1), 0), 0);
  const events = readings.reduce((sum, reading) => sum + reading.events, 0);
  const spanMs = Math.max(1, Math.max(...readings.map((reading) => reading.last)) - Math.min(...readings.map((reading) => reading.first)));
  console.log(`  ${label}: ${runs} run(s) × ${lines} lines`);
  console.log(`    ${((received / spanMs) * 1000).toFixed(0)} lines/s, ${((events / spanMs) * 1000).toFixed(0)} events/s (${events} events), first line → last line received`);
  console.log(`    latency line printed → SSE client: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms (goal p99 ≤ 50 ms for one run)`);
  console.log(`    lost ${lost}, duplicated ${duplicated}`);
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ runners: 2, capacity: Math.max(1, Math.ceil(parallelRuns / 2)) });
  try {
    console.log(`events bench: echo runs printing lines ${intervalMs} ms apart, each read by its own SSE client`);
    await measure(stack, 'one run as fast as it prints (goal ≥ 5,000/s)', 1, ticks);
    await measure(stack, `one run paced at ${pacedRate} lines/s (goal p99 ≤ 50 ms)`, 1, ticks, { tick_interval_ms: PACE_STEP_MS, ticks_per_interval: Math.max(1, Math.round((pacedRate * PACE_STEP_MS) / 1000)) });
    await measure(stack, `${parallelRuns} runs at once (goal ≥ 20,000/s in all)`, parallelRuns, parallelTicks);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { percentile, startBenchStack } from './support.js';

/**
 * `npm run bench:events`: one echo run prints BENCH_TICKS (5000) timestamped lines, BENCH_TICK_INTERVAL_MS (1) apart;
 * an SSE client measures event latency (line printed by the executor → event received over SSE) and the
 * sustained rate of events it receives.
 */
const ticks = Number(process.env.BENCH_TICKS ?? 5000);
const intervalMs = Number(process.env.BENCH_TICK_INTERVAL_MS ?? 1);

async function main(): Promise<void> {
  const stack = await startBenchStack({ runners: 1, capacity: 1 });
  try {
    const response = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      headers: stack.headers,
      body: JSON.stringify({ agent: 'echo', parameters: { ticks, tick_interval_ms: intervalMs } }),
    });
    const { id } = (await response.json()) as { id: string };
    const stream = await fetch(`${stack.apiUrl}/runs/${id}/events`, { headers: { ...stack.headers, accept: 'text/event-stream' } });
    const latencies: number[] = [];
    let events = 0;
    let first = 0;
    let last = 0;
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
        events += 1;
        first ||= now;
        last = now;
        for (const match of (event.data.text ?? '').matchAll(/tick \d+ (\d+)/g)) latencies.push(now - Number(match[1]));
        if (event.kind === 'session_ended') ended = true;
      }
      if (ended) break;
    }
    latencies.sort((a, b) => a - b);
    console.log(`events bench: one echo run printing ${ticks} lines ${intervalMs} ms apart, read over SSE`);
    console.log(`  event latency (line printed → SSE client): p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms over ${latencies.length} lines`);
    console.log(`  sustained: ${((events / Math.max(1, last - first)) * 1000).toFixed(0)} events/s (${events} events, chunks of output batch lines)`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import os from 'node:os';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import type { RunView } from '../core/contract/http.js';
import { measureFloor } from './floor/floor.js';
import { percentile, startBenchStack } from './support.js';

/**
 * `npm run bench:dispatch`: a dev server, M echo runners and N runs. First one run at a time
 * (BENCH_SEQUENTIAL_RUNS, 50): ao's dispatch latency (run accepted by the API → executor process
 * spawned on the runner) beside the floor on the same server in the same run (bare Temporal: a
 * workflow started → its one activity started on a worker on its own queue), and their ratio.
 * Then a burst: N runs posted BENCH_CONCURRENCY at a time; latency, where it went, throughput.
 * Sizes: BENCH_RUNNERS (4), BENCH_CAPACITY per runner (2), BENCH_RUNS (100), BENCH_CONCURRENCY of posts (10).
 */
const sequentialRuns = Number(process.env.BENCH_SEQUENTIAL_RUNS ?? 50);
const runners = Number(process.env.BENCH_RUNNERS ?? 4);
const capacity = Number(process.env.BENCH_CAPACITY ?? 2);
const runs = Number(process.env.BENCH_RUNS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 10);

async function main(): Promise<void> {
  const stack = await startBenchStack({ runners, capacity });
  try {
    const { apiUrl, headers } = stack;
    const dispatchOf = (run: RunView): number => Date.parse(run.executor_started_at!) - Date.parse(run.created_at);
    // One run at a time on an idle fleet: what a user waits for one run, against bare Temporal's floor.
    const single: number[] = [];
    for (let index = 0; index <= sequentialRuns; index += 1) {
      const response = await fetch(`${apiUrl}/runs?wait=true`, { method: 'POST', headers, body: JSON.stringify({ agent: 'echo', prompt: 'bench' }) });
      const run = (await response.json()) as RunView;
      // The first warms the workers up, as the floor's does.
      if (index > 0 && run.executor_started_at) single.push(dispatchOf(run));
    }
    single.sort((a, b) => a - b);
    const floor = await measureFloor(stack.temporalAddress, 'default', sequentialRuns);
    const ratio = (p: number): string => (percentile(single, p) / percentile(floor, p)).toFixed(2);
    console.log(`dispatch, one run at a time (${single.length} runs; ${os.cpus().length} cores):`);
    console.log(`  ao p50 ${percentile(single, 50)} ms, floor p50 ${percentile(floor, 50)} ms, ratio ${ratio(50)}`);
    console.log(`  ao p99 ${percentile(single, 99)} ms, floor p99 ${percentile(floor, 99)} ms, ratio ${ratio(99)}`);

    const ids: string[] = [];
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < runs) {
          next += 1;
          // Sequential mode (concurrency 1) waits for each run, so it measures dispatch on an idle fleet.
          const wait = concurrency === 1 ? '?wait=true' : '';
          const response = await fetch(`${apiUrl}/runs${wait}`, { method: 'POST', headers, body: JSON.stringify({ agent: 'echo', prompt: 'bench' }) });
          ids.push(((await response.json()) as { id: string }).id);
        }
      }),
    );
    const finished: RunView[] = [];
    for (const id of ids) {
      for (;;) {
        const run = (await (await fetch(`${apiUrl}/runs/${id}`, { headers })).json()) as RunView;
        if (isFinalRunStatus(run.status)) {
          finished.push(run);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const completedAt = Math.max(...finished.map((run) => Date.parse(run.history.at(-1)!.at)));
    const latencies = finished
      .filter((run) => run.executor_started_at)
      .map((run) => Date.parse(run.executor_started_at!) - Date.parse(run.created_at))
      .sort((a, b) => a - b);
    const phase = (from: string, to: string) =>
      finished
        .map((run) => {
          const at = (status: string) => Date.parse(run.history.find((change) => change.status === status)?.at ?? '');
          return at(to) - (from === 'created' ? Date.parse(run.created_at) : at(from));
        })
        .filter((value) => Number.isFinite(value))
        .sort((a, b) => a - b);
    const queued = phase('created', 'dispatched');
    const starting = phase('dispatched', 'running');
    const failed = finished.filter((run) => run.status !== 'completed').length;
    console.log(`dispatch bench: ${runs} echo runs, ${runners} runners × capacity ${capacity}, ${concurrency} concurrent posts, ${os.cpus().length} cores`);
    console.log(`  dispatch latency (accepted → executor spawned): p50 ${percentile(latencies, 50)} ms, p90 ${percentile(latencies, 90)} ms, p99 ${percentile(latencies, 99)} ms`);
    console.log(`  of which waiting for a free slot (accepted → dispatched): p50 ${percentile(queued, 50)} ms, p99 ${percentile(queued, 99)} ms`);
    console.log(`  of which starting on the runner (dispatched → running): p50 ${percentile(starting, 50)} ms, p99 ${percentile(starting, 99)} ms`);
    console.log(`  throughput: ${(runs / ((completedAt - started) / 1000)).toFixed(1)} runs/s end to end; ${failed} not completed`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

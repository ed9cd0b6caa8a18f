import { groupIsAlive } from '../activities/containment/run-container.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import type { RunView } from '../core/contract/http.js';
import { percentile, startBenchStack } from './support.js';

/**
 * `npm run bench:stop`: BENCH_STOPS (20) runs, each with a grandchild process, stopped one at a time.
 * Prints stop latency: request sent → the executor's whole process group gone, and → run `stopped`.
 */
const stops = Number(process.env.BENCH_STOPS ?? 20);

async function main(): Promise<void> {
  const stack = await startBenchStack({ runners: 1, capacity: 1 });
  const call = async (method: string, route: string, body?: unknown): Promise<RunView> =>
    (await (await fetch(`${stack.apiUrl}${route}`, { method, headers: stack.headers, ...(body ? { body: JSON.stringify(body) } : {}) })).json()) as RunView;
  const untilRun = async (id: string, done: (run: RunView) => boolean): Promise<RunView> => {
    for (;;) {
      const run = await call('GET', `/runs/${id}`);
      if (done(run)) return run;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  try {
    const gone: number[] = [];
    const ended: number[] = [];
    for (let index = 0; index < stops; index += 1) {
      const { id } = await call('POST', '/runs', { agent: 'echo', parameters: { sleep_ms: 600_000, spawn_grandchild: true } });
      const running = await untilRun(id, (run) => run.status === 'running');
      const pgid = Number(/pid (\d+)/.exec(running.history.at(-1)!.reason!)![1]);
      const sent = performance.now();
      await call('POST', `/runs/${id}/stop`);
      const groupWatch = (async () => {
        while (groupIsAlive(pgid)) await new Promise((resolve) => setTimeout(resolve, 5));
        gone.push(performance.now() - sent);
      })();
      await untilRun(id, (run) => isFinalRunStatus(run.status));
      ended.push(performance.now() - sent);
      await groupWatch;
    }
    gone.sort((a, b) => a - b);
    ended.sort((a, b) => a - b);
    const ms = (value: number): string => `${value.toFixed(0)} ms`;
    console.log(`stop bench: ${stops} running echo runs with a grandchild, stopped one at a time`);
    console.log(`  stop latency (request → process group gone): p50 ${ms(percentile(gone, 50))}, p99 ${ms(percentile(gone, 99))}`);
    console.log(`  stop latency (request → run stopped):        p50 ${ms(percentile(ended, 50))}, p99 ${ms(percentile(ended, 99))}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

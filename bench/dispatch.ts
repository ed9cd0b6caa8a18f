import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isFinalRunStatus } from '../core/run-status.js';
import type { RunView } from '../core/schemas.js';
import { findTemporalCli } from '../temporal-config/cli.js';
import { startDevServer } from '../temporal-config/dev-server.js';
import { buildWorkflowBundle } from '../workers/workflow-bundle.js';
import { startTsProcess, type TestProcess } from '../test/support/process.js';

/**
 * `npm run bench:dispatch`: a dev server, M echo runners and N runs; prints dispatch latency
 * (run accepted by the API → executor process spawned on the runner) and throughput.
 * Sizes: BENCH_RUNNERS (4), BENCH_CAPACITY per runner (2), BENCH_RUNS (100), BENCH_CONCURRENCY of posts (10).
 */
const runners = Number(process.env.BENCH_RUNNERS ?? 4);
const capacity = Number(process.env.BENCH_CAPACITY ?? 2);
const runs = Number(process.env.BENCH_RUNS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 10);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-bench-'));
  const processes: TestProcess[] = [];
  const server = await startDevServer({ cli: await findTemporalCli(), dataDir: path.join(root, 'temporal') });
  try {
    const bundle = path.join(root, 'bundle.js');
    await fs.writeFile(bundle, await buildWorkflowBundle());
    const token = crypto.randomBytes(18).toString('base64url');
    const env = { TEMPORAL_ADDRESS: server.address, AO_DATA_DIR: path.join(root, 'data'), AO_WORKFLOW_BUNDLE: bundle, AO_API_TOKEN: token, AO_API_PORT: '0' };
    const control = startTsProcess('control', 'workers/control.ts', [], env);
    const api = startTsProcess('api', 'api/server.ts', [], env);
    processes.push(control, api);
    await control.waitFor(/control worker polling/);
    const [, apiUrl] = await api.waitFor(/api listening on (\S+)/);
    for (let index = 0; index < runners; index += 1) {
      const projectDir = await fs.mkdtemp(path.join(root, 'project-'));
      const runner = startTsProcess('runner', 'workers/runner.ts', ['--profile', 'echo', '--project-dir', projectDir, '--capacity', String(capacity)], env);
      processes.push(runner);
      await runner.waitFor(/registered/);
    }

    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
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
    await Promise.all(processes.map((child) => child.stop()));
    await server.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import fs from 'node:fs/promises';
import { RUNNER_BUNDLE, buildRunner } from '../scripts/build-runner.js';
import { BENCH_AGENT, RUNNER_ENV, RUNNER_NODE_FLAGS, startBenchStack, type BenchStack, type RunnerStart } from './support.js';

/**
 * `npm run bench:runner-memory`: the resident memory (VmRSS) of an idle runner, started three ways,
 * each after it ran one echo run: under tsx with node's defaults (how runners ran before), as
 * `npm run runner` starts it (tsx, small V8 young generation and worker pool), and as
 * `npm run runner:dist` does (the compiled runner, same flags). Goal (issue 19): ≤ 120 MB.
 * The flags and MALLOC_ARENA_MAX are package.json's (`runner`, `runner:dist`), repeated here.
 */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 10_000);
const SAMPLES = 5;
const GOAL_MB = 120;

const residentMb = async (pid: number): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function runOnce(stack: BenchStack, tag: string): Promise<void> {
  const response = await fetch(`${stack.apiUrl}/runs?wait=true`, {
    method: 'POST',
    headers: stack.headers,
    body: JSON.stringify({ agent: BENCH_AGENT, prompt: 'warm up', additional_demands: { tags: [tag] } }),
  });
  const run = (await response.json()) as { status?: string };
  if (run.status !== 'completed') throw new Error(`the warm-up run on ${tag} ended ${run.status}`);
}

async function main(): Promise<void> {
  await buildRunner();
  const stack = await startBenchStack({ runners: 0, capacity: 4 });
  try {
    const variants: Array<[string, Omit<RunnerStart, 'profile'>]> = [
      ['tsx, node defaults (before)', {}],
      ['npm run runner (tsx + flags)', { nodeArgs: RUNNER_NODE_FLAGS, env: RUNNER_ENV }],
      ['npm run runner:dist (compiled + flags)', { nodeArgs: RUNNER_NODE_FLAGS, entry: RUNNER_BUNDLE, env: RUNNER_ENV }],
    ];
    const started: Array<[string, number]> = [];
    for (const [index, [label, start]] of variants.entries()) {
      const tag = `memory-${index}`;
      const { pid } = await stack.startRunner({ profile: 'echo', ...start, extraArgs: ['--tags', tag, '--require-matching-tags'] });
      await runOnce(stack, tag);
      started.push([label, pid]);
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    // Resident memory moves with each garbage collection: the median of a few samples, a second apart.
    const samples = new Map<string, number[]>(started.map(([label]) => [label, []]));
    for (let sample = 0; sample < SAMPLES; sample += 1) {
      for (const [label, pid] of started) samples.get(label)!.push(await residentMb(pid));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    console.log(`runner memory bench: idle runners (echo profile, capacity 4), ${SETTLE_MS / 1000} s after one run each, median of ${SAMPLES} samples; goal ≤ ${GOAL_MB} MB`);
    for (const [label, values] of samples) {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(`  ${label.padEnd(40)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} MB (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)})`);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

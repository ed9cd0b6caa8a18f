import type { RunnerView } from '../core/contract/fleet.js';
import { percentile, startBenchStack } from './support.js';

/**
 * `npm run bench:script-sync`: BENCH_RUNNERS (4) runners; a script is created, then changed
 * BENCH_SYNCS (20) times, one change at a time. Prints sync latency: from the API's answer to the
 * change → the first runner, and every runner, reporting the new version installed (GET /runners).
 */
const runners = Number(process.env.BENCH_RUNNERS ?? 4);
const syncs = Number(process.env.BENCH_SYNCS ?? 20);

async function main(): Promise<void> {
  const stack = await startBenchStack({ runners, capacity: 1 });
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${stack.apiUrl}${route}`, { method, headers: stack.headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  /** Polls the fleet until every runner has `version`; returns when the first and the last had it (ms after `since`). */
  const untilInstalled = async (version: string, since: number): Promise<{ first: number; all: number }> => {
    let first: number | undefined;
    for (;;) {
      const { runners: fleet } = await call<{ runners: RunnerView[] }>('GET', '/runners');
      const have = fleet.filter((runner) => runner.scripts['bench-script']?.version === version).length;
      const now = performance.now() - since;
      if (have > 0) first ??= now;
      if (have === fleet.length && fleet.length === runners) return { first: first!, all: now };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const content = (round: number): string => `#!/bin/sh\necho '{"round": ${round}}'\n`;
  try {
    const created = await call<{ version: string }>('POST', '/scripts', { name: 'bench-script', script_file: 'bench.sh', script_content: content(0) });
    await untilInstalled(created.version, performance.now());
    const first: number[] = [];
    const all: number[] = [];
    for (let round = 1; round <= syncs; round += 1) {
      const changed = await call<{ version: string }>('PATCH', '/scripts/bench-script', { script_content: content(round) });
      const took = await untilInstalled(changed.version, performance.now());
      first.push(took.first);
      all.push(took.all);
    }
    first.sort((a, b) => a - b);
    all.sort((a, b) => a - b);
    const ms = (value: number): string => `${value.toFixed(0)} ms`;
    console.log(`script sync bench: ${runners} runners, ${syncs} changes of one script, one at a time`);
    console.log(`  change answered → first runner has it: p50 ${ms(percentile(first, 50))}, p90 ${ms(percentile(first, 90))}, max ${ms(first.at(-1)!)}`);
    console.log(`  change answered → every runner has it: p50 ${ms(percentile(all, 50))}, p90 ${ms(percentile(all, 90))}, max ${ms(all.at(-1)!)}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

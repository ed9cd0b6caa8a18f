import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import type { RunView } from '../core/contract/http.js';
import { runWorkflowId } from '../workflows/messages.js';
import { cpuPerRun, cpuSnapshot } from './cpu.js';
import { measureFloor } from './floor/floor.js';
import { startFleetFillers } from './fleet-fillers.js';
import { runGate } from '../test/support/gates.js';
import { BENCH_AGENT, NPM_RUN_RUNNER, percentile, startBenchStack, type BenchStack } from './support.js';

/**
 * `npm run bench:dispatch`: a private dev server, control worker, API and BENCH_RUNNERS (4) echo
 * runners × BENCH_CAPACITY (4), all real processes; the runs are echo runs in temp workspaces
 * (concurrent on a runner). Dispatch latency is run accepted by the API → executor process spawned
 * on the runner (the run's own timestamps), judged against the floor measured on the same server in
 * the same run (bare Temporal: a workflow started → its one activity started on a worker on its
 * own queue, at the same parallelism). In order:
 * 1. one run at a time (BENCH_SEQUENTIAL_RUNS, 50), with where the time goes (accepted → picked →
 *    execute scheduled → started on the runner → executor spawned; scheduled/started are the
 *    Temporal history's event times);
 * 2. four at a time on the 4 × 4 fleet (each of four clients posts its next run when its last ended),
 *    with where the time goes;
 * 3. the same one-at-a-time figure with BENCH_FILLERS (196) more runners registered (runner
 *    identities hosted in this process, online, not matching the runs): fleet size must not matter;
 * 4. a burst: BENCH_RUNS (100) runs posted BENCH_CONCURRENCY (10) at a time, runs/s, beside the
 *    ceiling: the same echo executor started and reaped with the fleet's parallelism, no Temporal;
 * 5. a deep queue: every slot held by a gated run, BENCH_QUEUED (1000) runs queued behind them;
 *    one gate opened, so one slot serves the queue for BENCH_ONE_SLOT_SECONDS (10) while the other
 *    slots stay held, then every gate: time from a slot freeing (the run before it on that runner
 *    completed) to the next run's executor spawned, for each phase, beside the idle dispatch figure;
 * 6. the idle runners' resident memory (runners are started as `npm run runner` starts them).
 * BENCH_SECTIONS (e.g. `3,5`) runs section 1 (the figure the others compare with) and only those.
 * Sections 2, 4 and 5 also print where the CPU went per run (each of the stack's processes' own
 * CPU time, and the rest of the machine's: executors and their children) and the rate that much
 * CPU per run allows on this machine's cores: on a small machine the runs' own work bounds them.
 */
const sequentialRuns = Number(process.env.BENCH_SEQUENTIAL_RUNS ?? 50);
const runners = Number(process.env.BENCH_RUNNERS ?? 4);
const capacity = Number(process.env.BENCH_CAPACITY ?? 4);
const fillers = Number(process.env.BENCH_FILLERS ?? 196);
const runs = Number(process.env.BENCH_RUNS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 10);
const queued = Number(process.env.BENCH_QUEUED ?? 1000);
const oneSlotSeconds = Number(process.env.BENCH_ONE_SLOT_SECONDS ?? 10);
const sections = new Set((process.env.BENCH_SECTIONS ?? '2,3,4,5,6').split(',').map((section) => Number(section.trim())));

const echoExecutor = fileURLToPath(new URL('../activities/executors/echo-executor.mjs', import.meta.url));
const cores = os.cpus().length;

async function main(): Promise<void> {
  const stack = await startBenchStack({ runners, capacity, runnerStart: NPM_RUN_RUNNER });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const temporal = new Client({ connection });
  try {
    const memory = await residentMb(stack.runnerPids);
    const ms = (values: number[], p: number): string => `${percentile(values, p)} ms`;

    // 1. One run at a time on an idle fleet: what a user waits for one run.
    const single = await oneAtATime(stack, sequentialRuns, 1);
    const { latencies: floor1 } = await measureFloor(stack.temporalAddress, 'default', sequentialRuns, 1);
    console.log(`dispatch, one run at a time (${single.length} runs, ${runners} runners × capacity ${capacity}, ${cores} cores):`);
    printRatio(single.map((run) => run.dispatch), floor1);
    await printPhases(temporal, single);
    const idle = sorted(single.map((run) => run.dispatch));

    // 2. Four at a time on the 4 × 4 fleet.
    if (sections.has(2)) {
      const fourCpu = cpuSnapshot(stack.cpuRoles());
      const four = await oneAtATime(stack, sequentialRuns, 4);
      const fourCpuAfter = cpuSnapshot(stack.cpuRoles());
      // The floor's workers run in this process: its CPU is the bench's.
      const { latencies: floor4, cpu: floor4Cpu } = await measureFloor(stack.temporalAddress, 'default', sequentialRuns, 4, { temporal: stack.cpuRoles().temporal!, 'floor workers': [process.pid] });
      console.log(`dispatch, four runs at a time (${four.length} runs on ${runners} runners × capacity ${capacity}):`);
      printRatio(four.map((run) => run.dispatch), floor4);
      await printPhases(temporal, four);
      console.log(`  ${cpuPerRun(fourCpu, fourCpuAfter, four.length + 1)}`);
      console.log(`  the floor's ${floor4Cpu}`);
    }

    // 3. Many registered runners.
    if (sections.has(3)) {
      const fleet = await startFleetFillers(stack.temporalAddress, 'default', fillers);
      try {
        // Let the control worker's fleet view see them (it refreshes in the background).
        await new Promise((resolve) => setTimeout(resolve, 6_000));
        const many = sorted((await oneAtATime(stack, sequentialRuns, 1)).map((run) => run.dispatch));
        // The fillers' heartbeats load the server too: the floor beside this figure is measured with them registered.
        const { latencies: floorMany } = await measureFloor(stack.temporalAddress, 'default', sequentialRuns, 1);
        const ratioMany = percentile(many, 50) / percentile(floorMany, 50);
        const ratioFew = percentile(idle, 50) / percentile(floor1, 50);
        console.log(`dispatch with ${runners + fillers} registered runners (${fillers} online, not matching), one run at a time:`);
        console.log(`  p50 ${ms(many, 50)} (${runners} runners: ${ms(idle, 50)}, ${((percentile(many, 50) / percentile(idle, 50) - 1) * 100).toFixed(0)} %), p99 ${ms(many, 99)}`);
        console.log(`  ratio to the floor measured with them registered: ${ratioMany.toFixed(2)} (${runners} runners: ${ratioFew.toFixed(2)}, ${((ratioMany / ratioFew - 1) * 100).toFixed(0)} %)`);
      } finally {
        await fleet.stop();
      }
    }

    // 4. A burst, and the ceiling without Temporal.
    if (sections.has(4)) {
      const burstCpu = cpuSnapshot(stack.cpuRoles());
      const burst = await burstOf(stack, runs, concurrency);
      const burstCpuAfter = cpuSnapshot(stack.cpuRoles());
      const ceilingCpu = cpuSnapshot({});
      const ceiling = await echoCeiling(runs, runners * capacity);
      const ceilingCpuAfter = cpuSnapshot({});
      console.log(`burst: ${runs} runs, ${concurrency} posting at once, ${runners} runners × capacity ${capacity}:`);
      console.log(`  ${burst.rate.toFixed(1)} runs/s end to end (ceiling, echo executors started and reaped ${runners * capacity} at a time without Temporal: ${ceiling.toFixed(1)} /s, ${((burst.rate / ceiling) * 100).toFixed(0)} %); ${burst.failed} not completed; at most ${burst.peak} running at once`);
      console.log(`  dispatch latency p50 ${ms(burst.latencies, 50)}, p99 ${ms(burst.latencies, 99)}`);
      console.log(`  ${cpuPerRun(burstCpu, burstCpuAfter, runs)}`);
      console.log(`  the ceiling's ${cpuPerRun(ceilingCpu, ceilingCpuAfter, runs)}`);
    }

    // 5. A deep queue behind busy runners.
    if (sections.has(5)) {
      const wake = await queueWakeUp(stack, queued, runners * capacity);
      console.log(`queue: ${queued} runs queued behind ${runners * capacity} busy slots (${wake.failed} not completed in the end):`);
      console.log(`  one slot freed, the other ${runners * capacity - 1} held, for ${oneSlotSeconds} s (that slot serves the queue run after run): slot freed → next run's executor spawned p50 ${ms(wake.oneSlot.gaps, 50)}, p99 ${ms(wake.oneSlot.gaps, 99)} over ${wake.oneSlot.gaps.length} runs (idle dispatch p50 ${ms(idle, 50)})`);
      console.log(`    ${wake.oneSlot.cpu}`);
      console.log(`  then every slot freed: p50 ${ms(wake.draining.gaps, 50)}, p99 ${ms(wake.draining.gaps, 99)}; drained at ${wake.draining.rate.toFixed(1)} runs/s`);
      console.log(`    ${wake.draining.cpu}`);
    }

    if (sections.has(6)) console.log(`idle runner resident memory (started as npm run runner starts them; npm run bench:runner-memory compares runner:dist): ${memory.map((mb) => `${mb.toFixed(0)} MB`).join(', ')} (goal ≤ 120 MB)`);
  } finally {
    await connection.close();
    await stack.stop();
  }
}

interface Measured {
  id: string;
  run: RunView;
  /** accepted → executor spawned, ms. */
  dispatch: number;
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

/** A history event's time in ms. */
const eventMs = (time: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined =>
  time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : undefined;

function printRatio(ao: number[], floor: number[]): void {
  const values = sorted(ao);
  for (const p of [50, 99]) {
    console.log(`  ao p${p} ${percentile(values, p)} ms, floor p${p} ${percentile(floor, p)} ms, ratio ${(percentile(values, p) / percentile(floor, p)).toFixed(2)}`);
  }
}

async function post(stack: BenchStack, body: Record<string, unknown>, wait: boolean): Promise<RunView> {
  const response = await fetch(`${stack.apiUrl}/runs${wait ? '?wait=true' : ''}`, { method: 'POST', headers: stack.headers, body: JSON.stringify({ agent: BENCH_AGENT, prompt: 'bench', ...body }) });
  if (!response.ok) throw new Error(`POST /runs: ${response.status} ${await response.text()}`);
  return (await response.json()) as RunView;
}

/** `count` runs, `parallel` clients each posting its next when its last has ended; the first is a warm-up. */
async function oneAtATime(stack: BenchStack, count: number, parallel: number): Promise<Measured[]> {
  await post(stack, {}, true);
  const measured: Measured[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next += 1;
        const run = await post(stack, {}, true);
        if (run.executor_started_at) measured.push({ id: run.id, run, dispatch: Date.parse(run.executor_started_at) - Date.parse(run.created_at) });
      }
    }),
  );
  return measured;
}

/** Where dispatch goes: each step's p50 and p99 from the run's status history and its Temporal history. */
async function printPhases(temporal: Client, measured: Measured[]): Promise<void> {
  const steps = { task: [] as number[], picked: [] as number[], scheduled: [] as number[], started: [] as number[], spawned: [] as number[] };
  for (const { id, run } of measured) {
    const accepted = Date.parse(run.created_at);
    const picked = Date.parse(run.history.find((change) => change.status === 'dispatched')?.at ?? '');
    let scheduledAt: number | undefined;
    let startedAt: number | undefined;
    let executeEventId: string | undefined;
    let taskStarted: number | undefined;
    let reserved = picked;
    for (const event of (await temporal.workflow.getHandle(runWorkflowId(id)).fetchHistory()).events ?? []) {
      if (event.workflowTaskStartedEventAttributes && taskStarted === undefined) taskStarted = eventMs(event.eventTime);
      // The pick's own clock: a local activity's result is in its marker.
      for (const payloads of Object.values(event.markerRecordedEventAttributes?.details ?? {})) {
        for (const payload of payloads.payloads ?? []) {
          const at = /"picked_at":"([^"]+)"/.exec(Buffer.from(payload.data ?? new Uint8Array()).toString())?.[1];
          if (at) reserved = Date.parse(at);
        }
      }
      if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'execute' && !executeEventId) {
        executeEventId = String(event.eventId);
        scheduledAt = eventMs(event.eventTime);
      }
      if (executeEventId && String(event.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === executeEventId) startedAt = eventMs(event.eventTime);
    }
    const spawned = Date.parse(run.executor_started_at!);
    if (![reserved, scheduledAt, startedAt, taskStarted].every((value) => Number.isFinite(value))) continue;
    steps.task.push(taskStarted! - accepted);
    steps.picked.push(reserved - taskStarted!);
    steps.scheduled.push(scheduledAt! - reserved);
    steps.started.push(startedAt! - scheduledAt!);
    steps.spawned.push(spawned - startedAt!);
  }
  const p = (values: number[]): string => {
    const ordered = sorted(values);
    return `${percentile(ordered, 50)}/${percentile(ordered, 99)} ms`;
  };
  console.log(
    `  where it goes (p50/p99 of each step): accepted → first workflow task started ${p(steps.task)}, → resolved and picked (slot reserved) ${p(steps.picked)}, → execute scheduled ${p(steps.scheduled)}, → started on the runner ${p(steps.started)}, → executor spawned ${p(steps.spawned)}`,
  );
}

async function waitForAll(stack: BenchStack, ids: string[]): Promise<RunView[]> {
  const finished: RunView[] = [];
  for (const id of ids) {
    for (;;) {
      const run = (await (await fetch(`${stack.apiUrl}/runs/${id}`, { headers: stack.headers })).json()) as RunView;
      if (isFinalRunStatus(run.status)) {
        finished.push(run);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return finished;
}

const endOf = (run: RunView): number => Date.parse(run.history.at(-1)!.at);

/** The most runs whose executors ran at the same time (spawned → run ended). */
function peakConcurrency(finished: RunView[]): number {
  const edges = finished.filter((run) => run.executor_started_at).flatMap((run) => [{ at: Date.parse(run.executor_started_at!), delta: 1 }, { at: endOf(run), delta: -1 }]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const edge of edges) peak = Math.max(peak, (current += edge.delta));
  return peak;
}

async function burstOf(stack: BenchStack, count: number, posting: number) {
  const ids: string[] = [];
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: posting }, async () => {
      while (next < count) {
        next += 1;
        ids.push((await post(stack, {}, false)).id);
      }
    }),
  );
  const finished = await waitForAll(stack, ids);
  const completedAt = Math.max(...finished.map(endOf));
  const latencies = sorted(finished.filter((run) => run.executor_started_at).map((run) => Date.parse(run.executor_started_at!) - Date.parse(run.created_at)));
  return { rate: count / ((completedAt - started) / 1000), failed: finished.filter((run) => run.status !== 'completed').length, latencies, peak: peakConcurrency(finished) };
}

/** Echo executors per second this machine starts and reaps, `parallel` at a time, with no Temporal and no ao. */
async function echoCeiling(count: number, parallel: number): Promise<number> {
  const workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-bench-ceiling-'));
  const invocation = JSON.stringify({ run_id: 'ceiling', agent: { name: BENCH_AGENT }, prompt: 'bench', parameters: {}, workspace_dir: workspace, executor_type: 'echo', executor_config: {} });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [echoExecutor], { cwd: workspace, stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.resume();
      child.stderr.resume();
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`echo executor exited ${code}`))));
      child.stdin.end(invocation);
    });
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next += 1;
        await one();
      }
    }),
  );
  const rate = count / ((Date.now() - started) / 1000);
  await fs.rm(workspace, { recursive: true, force: true });
  return rate;
}

/**
 * Fills every slot with a run held by a gate file of its own, queues `count` runs behind them, then
 * opens one gate: that one slot serves the queue run after run for BENCH_ONE_SLOT_SECONDS while
 * the others stay held (the wake-up path on a machine with CPU to spare); then opens the rest and
 * the queue drains on every slot (the same path with the machine saturated).
 * For each runner, the k-th executor spawned after the first gate opened took the k-th slot freed
 * there: the gap is spawn − that slot's previous run's end.
 */
async function queueWakeUp(stack: BenchStack, count: number, slots: number) {
  // Where the executor user can see them (the tests' gates).
  const gates = await Promise.all(Array.from({ length: slots }, () => runGate(stack.root)));
  const holders = await Promise.all(gates.map((gate) => post(stack, { parameters: gate.parameters }, false)));
  // Every slot held before anything queues: a holder still pending would take a slot a queued run should wait for.
  for (const { id } of holders) {
    for (let polls = 1; ; polls += 1) {
      const run = (await (await fetch(`${stack.apiUrl}/runs/${id}`, { headers: stack.headers })).json()) as RunView;
      if (run.status === 'running') break;
      if (polls % 100 === 0) console.error(`queue: holder ${id} still ${run.status}: ${run.pending_reason ?? run.history.at(-1)?.reason ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  console.error(`queue: ${slots} slots held`);
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < count) {
        next += 1;
        ids.push((await post(stack, {}, false)).id);
      }
    }),
  );
  // Wait until they are all queued (pending with a slot reason), then free the slots.
  for (const id of ids.slice(-10)) {
    for (;;) {
      const run = (await (await fetch(`${stack.apiUrl}/runs/${id}`, { headers: stack.headers })).json()) as RunView;
      if (run.pending_reason?.startsWith('waiting for a free slot')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  console.error(`queue: ${count} runs queued; freeing one slot for ${oneSlotSeconds} s, then the rest`);
  const oneCpu = cpuSnapshot(stack.cpuRoles());
  const oneOpened = Date.now();
  await gates[0]!.open();
  await new Promise((resolve) => setTimeout(resolve, oneSlotSeconds * 1000));
  const drainCpu = cpuSnapshot(stack.cpuRoles());
  const allOpened = Date.now();
  await Promise.all(gates.slice(1).map((gate) => gate.open()));
  const finished = await waitForAll(stack, [...holders.map((run) => run.id), ...ids]);
  const drainCpuAfter = cpuSnapshot(stack.cpuRoles());
  const byRunner = new Map<string, RunView[]>();
  for (const run of finished) if (run.runner_id && run.executor_started_at) byRunner.set(run.runner_id, [...(byRunner.get(run.runner_id) ?? []), run]);
  const oneSlot: number[] = [];
  const draining: number[] = [];
  for (const onRunner of byRunner.values()) {
    const ends = sorted(onRunner.map(endOf));
    const spawns = sorted(onRunner.map((run) => Date.parse(run.executor_started_at!)).filter((at) => at >= oneOpened));
    spawns.forEach((spawnedAt, index) => {
      if (ends[index] !== undefined && ends[index] <= spawnedAt) (spawnedAt < allOpened ? oneSlot : draining).push(spawnedAt - ends[index]);
    });
  }
  const queuedRuns = new Set(ids);
  const oneSlotRuns = finished.filter((run) => queuedRuns.has(run.id) && endOf(run) < allOpened).length;
  const drainedRuns = finished.filter((run) => endOf(run) >= allOpened).length;
  const drained = Math.max(...finished.map(endOf));
  return {
    oneSlot: { gaps: sorted(oneSlot), cpu: cpuPerRun(oneCpu, drainCpu, Math.max(1, oneSlotRuns)) },
    draining: { gaps: sorted(draining), rate: drainedRuns / ((drained - allOpened) / 1000), cpu: cpuPerRun(drainCpu, drainCpuAfter, drainedRuns) },
    failed: finished.filter((run) => run.status !== 'completed').length,
  };
}

/** Resident memory (VmRSS) of each process, in MB. */
async function residentMb(pids: number[]): Promise<number[]> {
  return Promise.all(
    pids.map(async (pid) => {
      const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunnerView } from '../api/fleet-service.js';
import type { RunView } from '../core/contract/http.js';
import type { ContainmentKind } from '../core/contract/fleet.js';
import { processesTagged, stillRunning, watchdogOf, type SeenProcess } from './support/run-processes.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * Starts processes that leave the script's process group and session in the usual ways (setsid,
 * a double fork, nohup), all ignoring SIGHUP and SIGTERM, then waits; with --leave it exits at
 * once and leaves them behind. Every one carries the run's tag in its environment.
 */
const ESCAPEES_SCRIPT = `#!/bin/sh
export AO_TEST_TAG="$2"
trap '' HUP TERM
setsid sh -c 'sleep 600' &
( setsid sh -c 'sleep 601' & ) &
nohup sh -c 'sleep 602' >/dev/null 2>&1 &
echo "escapees started"
[ "$3" = "--leave" ] && exit 0
sleep 600
`;
/** The script itself, its sleep and at least one process for each of the three escapes. */
const ESCAPEES = 5;

let stack: TestStack;
/** Every tag a test used: what a failed test left running is killed at the end, not left on the machine. */
const tags: string[] = [];
const tagFor = (label: string): string => {
  const tag = uniqueTag(label);
  tags.push(tag);
  return tag;
};

beforeAll(async () => {
  stack = await TestStack.create({ apiEnv: { AO_DISPATCH_TIMEOUT_SECONDS: '3' } });
  await stack.addScriptAgent({
    name: 'escapees',
    script_file: 'escapees.sh',
    script_content: ESCAPEES_SCRIPT,
    parameters_schema: { type: 'object', properties: { tag: { type: 'string' }, leave: { type: 'boolean' } }, required: ['tag'] },
  });
});
afterAll(async () => {
  await stack?.stop();
  for (const tag of tags) for (const left of processesTagged(tag)) process.kill(left.pid, 'SIGKILL');
});

const history = (run: RunView): string => run.history.map((change) => `${change.status}: ${change.reason ?? ''}`).join('\n');

/** Waits until the run's processes are all up, and returns them. */
async function escapeesOf(tag: string, count = ESCAPEES): Promise<SeenProcess[]> {
  return eventually(() => {
    const seen = processesTagged(tag);
    if (seen.length < count) throw new Error(`${seen.length} of the run's processes are up`);
    return seen;
  }, 45_000);
}

async function expectAllGone(seen: SeenProcess[]): Promise<void> {
  await eventually(() => expect(stillRunning(seen)).toEqual([]), testTime(30_000));
}

async function stopAndWait(id: string): Promise<RunView> {
  await stack.api('POST', `/runs/${id}/stop`);
  return stack.waitForRun(id, undefined, testTime(90_000));
}

async function runnerView(runnerId: string): Promise<RunnerView> {
  const { body } = await stack.api<{ runners: RunnerView[] }>('GET', '/runners');
  const found = body.runners.find((runner) => runner.runner_id === runnerId);
  if (!found) throw new Error(`runner ${runnerId} is not listed`);
  return found;
}

describe.each<[ContainmentKind]>([['cgroup'], ['process-group']])('with %s containment', (kind) => {
  const startRunner = (tag: string, again?: { projectDir: string; dataDir: string }) =>
    stack.startRunner({ profile: 'procedural', tags: [tag], extraArgs: ['--containment', kind], ...(again ?? {}) });
  const postEscapees = (tag: string, parameters: Record<string, unknown> = {}) =>
    stack.postRun({ agent: 'escapees', parameters: { tag, ...parameters }, additional_demands: { tags: [tag] } });

  it('registers its containment, and GET /runners shows it', async () => {
    const tag = tagFor('shows');
    const { runnerId } = await startRunner(tag);
    const { registration } = await eventually(() => runnerView(runnerId));
    expect(registration.containment?.kind).toBe(kind);
    if (kind === 'cgroup') expect(registration.containment?.cgroup).toMatch(new RegExp(`/ao/${runnerId.replace(/\./g, '\\.')}$`));
    else expect(registration.containment?.reason).toMatch(/--containment process-group/);
  });

  it('a stop ends every process of the run, also those that left its session and ignore SIGHUP and SIGTERM', async () => {
    const tag = tagFor('stop');
    const runner = await startRunner(tag);
    const id = await postEscapees(tag);
    const seen = await escapeesOf(tag);
    if (kind === 'cgroup') for (const process of processesTagged(tag)) expect(process.cgroup).toContain(`/ao/${runner.runnerId}/${id}`);

    const stopped = await stopAndWait(id);
    expect(stopped.status).toBe('stopped');
    // A run is stopped only once its processes are gone: nothing is left to wait for.
    expect(stillRunning(seen)).toEqual([]);
    expect(processesTagged(tag)).toEqual([]);
    const { registration } = await eventually(() => runnerView(runner.runnerId));
    if (registration.containment?.cgroup) expect(fs.existsSync(path.join(registration.containment.cgroup, id))).toBe(false);
  });

  it('a timeout ends every process of the run', async () => {
    const tag = tagFor('timeout');
    await startRunner(tag);
    const id = await stack.postRun({ agent: 'escapees', parameters: { tag }, timeout_seconds: 8, additional_demands: { tags: [tag] } });
    const seen = await escapeesOf(tag);
    const run = await stack.waitForRun(id, undefined, testTime(60_000));
    expect(run.error?.type).toBe('RUN_TIMEOUT');
    expect(stillRunning(seen)).toEqual([]);
    expect(processesTagged(tag)).toEqual([]);
  });

  it('ends what the executor left running when it exits, before the run completes', async () => {
    const tag = tagFor('leave');
    await startRunner(tag);
    const run = await stack.waitForRun(await postEscapees(tag, { leave: true }));
    expect(run.status).toBe('completed');
    expect(JSON.stringify(run.result)).toContain('escapees started');
    expect(processesTagged(tag)).toEqual([]);
  });

  it('a stop ends an echo executor’s child that started a session of its own', async () => {
    const tag = tagFor('echo-escape');
    await stack.startRunner({ tags: [tag], extraArgs: ['--containment', kind] });
    const id = await stack.postRun({ agent: 'echo', parameters: { sleep_ms: 120_000, spawn_escapee: tag }, additional_demands: { tags: [tag] } });
    const seen = await escapeesOf(tag, 1);
    expect((await stopAndWait(id)).status).toBe('stopped');
    expect(stillRunning(seen)).toEqual([]);
  });

  it('a runner killed with -9 takes its runs’ processes with it', async () => {
    const tag = tagFor('kill9');
    const runner = await startRunner(tag);
    const id = await postEscapees(tag);
    const seen = await escapeesOf(tag);
    await runner.process.stop('SIGKILL');
    // Its watchdog ends them at once, long before the run could be handed to another runner.
    await expectAllGone(seen);
    await stopAndWait(id);
  });

  it('a runner restarted after it and its watchdog were killed ends what they left, and the run goes on', async () => {
    const tag = tagFor('restart');
    const runner = await startRunner(tag);
    const id = await postEscapees(tag);
    const seen = await escapeesOf(tag);
    const watchdog = watchdogOf(runner.process.pid);
    expect(watchdog).toBeDefined();
    // Frozen first, so it cannot start another watchdog between the two kills.
    runner.process.child.kill('SIGSTOP');
    process.kill(watchdog!, 'SIGKILL');
    await runner.process.stop('SIGKILL');
    // The premise: with both gone, nothing ended the run's processes.
    expect(stillRunning(seen)).toHaveLength(seen.length);

    const again = await startRunner(tag, { projectDir: runner.projectDir, dataDir: runner.dataDir });
    expect(again.runnerId).toBe(runner.runnerId);
    expect(again.process.output).toMatch(/ended \d+ leftover\(s\) of runs an earlier instance of this runner started/);
    expect(stillRunning(seen)).toEqual([]);
    // The retried attempt runs the script again on the restarted runner.
    await stack.waitForRun(id, (run) => /executor restarted after its runner came back/.test(history(run)), testTime(90_000));
    const second = await escapeesOf(tag);
    expect(second.every((process) => !seen.some((old) => old.pid === process.pid && old.startTime === process.startTime))).toBe(true);
    expect((await stopAndWait(id)).status).toBe('stopped');
    expect(stillRunning(second)).toEqual([]);
  });

  it('a run handed to another runner never runs in two places at once', async () => {
    const tag = tagFor('handover');
    const lost = await startRunner(tag);
    const id = await postEscapees(tag);
    const first = await escapeesOf(tag);
    const taker = await startRunner(tag);
    await lost.process.stop('SIGKILL');
    await expectAllGone(first);
    // Gone while the run still belonged to the lost runner: the hand-over comes only after its heartbeats are missed.
    expect((await stack.waitForRun(id, () => true)).runner_id).toBe(lost.runnerId);

    const handedOver = await stack.waitForRun(id, (run) => run.runner_id === taker.runnerId && run.status === 'running', testTime(90_000));
    expect(history(handedOver)).toContain(`runner ${lost.runnerId}`);
    const second = await escapeesOf(tag);
    expect(stillRunning(first)).toEqual([]);
    if (kind === 'cgroup') for (const process of processesTagged(tag)) expect(process.cgroup).toContain(`/ao/${taker.runnerId}/${id}`);
    expect((await stopAndWait(id)).status).toBe('stopped');
    expect(stillRunning(second)).toEqual([]);
  });

  it('a runner cut off from Temporal ends its runs before they can be handed over, so a run never runs twice', async () => {
    const tag = tagFor('partition');
    const proxy = await TcpProxy.start(inject('temporalAddress'));
    try {
      // This runner reaches Temporal only through the proxy; the rest of the stack does not.
      const cutOff = await stack.startRunner({ profile: 'procedural', tags: [tag], extraArgs: ['--containment', kind], env: { TEMPORAL_ADDRESS: proxy.address } });
      const id = await postEscapees(tag);
      const first = await escapeesOf(tag);
      const taker = await startRunner(tag);
      proxy.cut();
      await expectAllGone(first);
      expect((await stack.waitForRun(id, () => true)).runner_id).toBe(cutOff.runnerId);
      await cutOff.process.waitFor(/had no contact with Temporal for \d+s; it ended the run's processes, so the run never runs in two places/);

      await stack.waitForRun(id, (run) => run.runner_id === taker.runnerId && run.status === 'running', testTime(90_000));
      const second = await escapeesOf(tag);
      expect(stillRunning(first)).toEqual([]);
      expect((await stopAndWait(id)).status).toBe('stopped');
      expect(stillRunning(second)).toEqual([]);
    } finally {
      // Back on the network, the cut-off runner can shut down cleanly with the stack.
      proxy.heal();
    }
  });
});

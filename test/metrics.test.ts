import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import { METRICS } from '../core/observability/metrics.js';
import { freePort } from '../temporal-config/dev-server.js';
import { parseRunnerOptions } from '../workers/runner-options.js';
import { runGate } from './support/gates.js';
import { parseExposition, valueOf, type Sample } from './support/prometheus.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

let stack: TestStack;
let controlSdkPort: number;
beforeAll(async () => {
  controlSdkPort = await freePort();
  stack = await TestStack.create({ env: { AO_CONTROL_TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${controlSdkPort}` } });
}, testTime(120_000));
afterAll(async () => {
  await stack?.stop();
});

const scrape = async (url: string, token?: string): Promise<{ status: number; type: string; samples: Sample[]; text: string }> => {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', samples: parseExposition(text), text };
};

/** A runner of this test with its metrics listener on a free port (0) and the SDK's exporter on another. */
async function startMeasuredRunner(tag: string) {
  const sdkPort = await freePort();
  const runner = await stack.startRunner({ tags: [tag], extraArgs: ['--metrics-port', '0', '--temporal-metrics-port', String(sdkPort)] });
  const [, url] = await runner.process.waitFor(/metrics on (http:\/\/\S+\/metrics)/);
  return { ...runner, metricsUrl: url!, sdkUrl: `http://127.0.0.1:${sdkPort}/metrics` };
}

describe('metrics', () => {
  it('count a completed run on the API and on its runner, with its agent, profile and latencies', async () => {
    const tag = uniqueTag('metrics');
    const runner = await startMeasuredRunner(tag);
    const { status, body: run } = await stack.api<{ id: string; status: string }>('POST', '/runs?wait=true', { body: { agent: 'echo', prompt: 'count me', additional_demands: { tags: [tag] } } });
    expect(status).toBe(200);
    expect(run.status).toBe('completed');

    const api = await scrape(`${stack.apiUrl}/metrics`, stack.token);
    expect(api.status).toBe(200);
    expect(api.type).toMatch(/^text\/plain/);
    expect(valueOf(api.samples, METRICS.runsStarted.name, { agent: 'echo' })).toBe(1);
    expect(valueOf(api.samples, METRICS.httpRequests.name, { method: 'POST', route: '/runs', status: '200' })).toBe(1);
    // Its events reach the API through the spool a moment after the run ends.
    const ingested = await eventually(async () => {
      const { samples } = await scrape(`${stack.apiUrl}/metrics`, stack.token);
      const ended = valueOf(samples, METRICS.eventsIngested.name, { kind: 'session_ended' });
      if (ended !== 1) throw new Error(`session_ended ingested: ${ended}`);
      return samples;
    }, testTime(30_000));
    expect(valueOf(ingested, METRICS.eventsIngested.name, { kind: 'session_started' })).toBe(1);

    const own = { runner_id: runner.runnerId };
    const measured = await eventually(async () => {
      const { samples } = await scrape(runner.metricsUrl);
      if (valueOf(samples, METRICS.spoolDepth.name, own) !== 0) throw new Error('the spool still holds events');
      return samples;
    }, testTime(30_000));
    expect(valueOf(measured, METRICS.runnerRunsStarted.name, { ...own, agent: 'echo', profile: 'echo' })).toBe(1);
    expect(valueOf(measured, METRICS.runnerRunsEnded.name, { ...own, status: 'completed', agent: 'echo', profile: 'echo' })).toBe(1);
    expect(valueOf(measured, `${METRICS.dispatchLatency.name}_count`, { ...own, profile: 'echo' })).toBe(1);
    expect(valueOf(measured, `${METRICS.queueWait.name}_count`, { ...own, profile: 'echo' })).toBe(1);
    expect(valueOf(measured, `${METRICS.dispatchLatency.name}_sum`, { ...own, profile: 'echo' })).toBeGreaterThan(0);
    expect(valueOf(measured, METRICS.slotsUsed.name, own)).toBe(0);
    expect(valueOf(measured, METRICS.slotsFree.name, own)).toBe(1);
  });

  it('show a running run in the slots and a stopped one with its stop latency', async () => {
    const tag = uniqueTag('metrics-stop');
    const runner = await startMeasuredRunner(tag);
    const held = await runGate(stack.root);
    const id = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [tag] } });
    await stack.waitForRun(id, (run) => run.status === 'running');
    const busy = await scrape(runner.metricsUrl);
    expect(valueOf(busy.samples, METRICS.slotsUsed.name)).toBe(1);
    expect(valueOf(busy.samples, METRICS.slotsFree.name)).toBe(0);

    expect((await stack.api('POST', `/runs/${id}/stop`)).status).toBe(202);
    expect((await stack.waitForRun(id)).status).toBe('stopped');
    const after = await eventually(async () => {
      const { samples } = await scrape(runner.metricsUrl);
      if (valueOf(samples, `${METRICS.stopLatency.name}_count`, { profile: 'echo' }) !== 1) throw new Error('no stop latency yet');
      return samples;
    });
    expect(valueOf(after, METRICS.runnerRunsEnded.name, { status: 'stopped', agent: 'echo', profile: 'echo' })).toBe(1);
    expect(valueOf(after, METRICS.slotsUsed.name)).toBe(0);
  });

  it('measure the script sync lag on a runner when a script is created', async () => {
    const runner = await startMeasuredRunner(uniqueTag('metrics-sync'));
    await stack.addScriptAgent({ name: uniqueTag('counted'), script_file: 'run.sh', script_content: '#!/bin/sh\necho counted\n' });
    const samples = await eventually(async () => {
      const { samples } = await scrape(runner.metricsUrl);
      if (!valueOf(samples, `${METRICS.scriptSyncLag.name}_count`)) throw new Error('no script installed yet');
      return samples;
    }, testTime(30_000));
    expect(valueOf(samples, `${METRICS.scriptSyncLag.name}_count`, { runner_id: runner.runnerId })).toBeGreaterThanOrEqual(1);
  });

  it('export the Temporal SDK’s own metrics from the runner and the control worker, each on its port', async () => {
    const runner = await startMeasuredRunner(uniqueTag('metrics-sdk'));
    const fromRunner = await eventually(async () => {
      const { status, samples } = await scrape(runner.sdkUrl);
      if (status !== 200 || !samples.some((sample) => sample.name.startsWith('temporal_') && sample.labels.task_queue === `ao.runner.${runner.runnerId}`)) {
        throw new Error('no Temporal SDK metric for the runner’s queue yet');
      }
      return samples;
    });
    expect(fromRunner.some((sample) => sample.name.startsWith('ao_'))).toBe(false);
    const fromControl = await eventually(async () => {
      const { samples } = await scrape(`http://127.0.0.1:${controlSdkPort}/metrics`);
      if (!samples.some((sample) => sample.name.startsWith('temporal_') && sample.labels.task_queue === 'ao.control')) throw new Error('no Temporal SDK metric for ao.control yet');
      return samples;
    });
    expect(fromControl.some((sample) => sample.labels.namespace === stack.namespace)).toBe(true);
  });

  it('answer /metrics to a viewer, and refuse it without a token, with a wrong one or a runner’s', async () => {
    const created = await stack.api<{ token: string }>('POST', '/tokens', { body: { name: uniqueTag('grafana'), role: 'viewer' } });
    expect(created.status).toBe(201);
    const viewer = await scrape(`${stack.apiUrl}/metrics`, created.body.token);
    expect(viewer.status).toBe(200);
    expect(viewer.text).toContain(`# TYPE ${METRICS.runsStarted.name} counter`);
    const anonymous = await fetch(`${stack.apiUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toContain('missing or wrong API token');
    expect((await scrape(`${stack.apiUrl}/metrics`, 'not-a-token-at-all')).status).toBe(401);
    const runner = await fetch(`${stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${stack.runnerToken}` } });
    expect(runner.status).toBe(403);
    expect(((await runner.json()) as { error: string }).error).toContain('a runner token cannot do this');
  });

  it('answer only GET /metrics on a runner’s listener', async () => {
    const runner = await startMeasuredRunner(uniqueTag('metrics-404'));
    const origin = new URL(runner.metricsUrl).origin;
    expect((await fetch(`${origin}/`)).status).toBe(404);
    expect((await fetch(runner.metricsUrl, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${origin}/metrics/../etc/passwd`)).status).toBe(404);
  });
});

describe('the runner’s metrics options', () => {
  it('are off by default, read from flags or the environment, and name the option when wrong', () => {
    expect(parseRunnerOptions([], {})).toMatchObject({ metricsPort: undefined, temporalMetricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(parseRunnerOptions([], { AO_RUNNER_METRICS_PORT: '9464', AO_RUNNER_TEMPORAL_METRICS_PORT: '9465' })).toMatchObject({ metricsPort: 9464, temporalMetricsPort: 9465 });
    expect(parseRunnerOptions(['--metrics-port', '0'], { AO_RUNNER_METRICS_PORT: '9464' }).metricsPort).toBe(0);
    expect(() => parseRunnerOptions(['--temporal-metrics-port', '0'], {})).toThrow(/--temporal-metrics-port \/ AO_RUNNER_TEMPORAL_METRICS_PORT: /);
    expect(() => parseRunnerOptions(['--metrics-port', 'many'], {})).toThrow(/--metrics-port \/ AO_RUNNER_METRICS_PORT: /);
  });
});

describe('the Grafana dashboard', () => {
  it('charts every ao metric, and names no metric ao does not export', async () => {
    const dashboard = await fs.readFile(path.join(repoRoot, 'deploy', 'grafana', 'ao.json'), 'utf8');
    const panels = (JSON.parse(dashboard) as { panels: Array<{ targets?: Array<{ expr: string }> }> }).panels;
    const expressions = panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
    const named = new Set(expressions.flatMap((expr) => [...expr.matchAll(/\bao_\w+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''))));
    const exported = new Set<string>(Object.values(METRICS).map((metric) => metric.name));
    expect([...named].filter((name) => !exported.has(name))).toEqual([]);
    expect([...exported].filter((name) => !named.has(name))).toEqual([]);
  });
});

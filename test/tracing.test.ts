import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { clientTracingInterceptors } from '../core/observability/temporal-tracing.js';
import { startTracing, tracingWanted, type Tracing } from '../core/observability/tracing.js';
import { TemporalEnv, connectClient, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { inProcessApp } from './support/in-process-api.js';
import { startOtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { RUN_WORKFLOW_TYPE, runWorkflowId } from '../workflows/messages.js';
import { testTime } from './support/time.js';

let stack: TestStack;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // Every process of the stack exports to the receiver, as to a collector; batches go out every 100 ms.
  stack = await TestStack.create({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' } });
}, testTime(120_000));
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

/** The one span named `name` in `spans`; fails naming what there is. */
function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((span) => span.name === name);
  if (found.length !== 1) throw new Error(`${found.length} spans named ${name}; have: ${spans.map((span) => `${span.service}/${span.name}`).join(', ')}`);
  return found[0]!;
}

describe('tracing a run', () => {
  it('follows one run in one trace from the API request through the workflow and its activities to the executor spawn', async () => {
    const tag = uniqueTag('traced');
    await stack.startRunner({ tags: [tag] });
    const id = await stack.postRun({ agent: 'echo', prompt: 'trace me', additional_demands: { tags: [tag] } });
    expect((await stack.waitForRun(id)).status).toBe('completed');

    const workflowId = runWorkflowId(id);
    // Each process exports in its own batches, and a span only once it has ended (the workflow's last): wait for the whole chain.
    const { spans, spawn, path, parentOf } = await eventually(() => {
      // The run's trace: the one the executor spawn of this run belongs to.
      const spawn = only(receiver.spans.filter((span) => span.attributes['ao.workflow_id'] === workflowId), 'executor spawn');
      const spans = receiver.spans.filter((span) => span.traceId === spawn.traceId);
      const byId = new Map(spans.map((span) => [span.spanId, span]));
      const parentOf = (span: ReceivedSpan): ReceivedSpan | undefined => (span.parentSpanId ? byId.get(span.parentSpanId) : undefined);
      const path: string[] = [];
      let top: ReceivedSpan = spawn;
      for (let span: ReceivedSpan | undefined = spawn; span; span = parentOf(span)) {
        path.unshift(span.name);
        top = span;
      }
      if (top.parentSpanId) throw new Error(`the chain so far ends at ${top.name}, whose parent has not arrived: ${path.join(' → ')}`);
      return { spans, spawn, path, parentOf };
    }, testTime(30_000));

    const request = only(spans, 'POST /runs');
    expect(request.service).toBe('ao-api');
    expect(request.parentSpanId).toBeUndefined();
    expect(request.attributes).toMatchObject({ 'http.route': '/runs', 'http.response.status_code': 201 });
    const start = only(spans, `StartWorkflow:${RUN_WORKFLOW_TYPE}`);
    expect(start).toMatchObject({ service: 'ao-api', parentSpanId: request.spanId });
    const workflow = only(spans, `RunWorkflow:${RUN_WORKFLOW_TYPE}`);
    expect(workflow).toMatchObject({ service: 'ao-control', parentSpanId: start.spanId });
    // The workflow schedules each activity in a span of its own, which the activity's span continues.
    for (const activity of ['resolveAndPick', 'execute']) {
      const scheduled = only(spans, `StartActivity:${activity}`);
      expect(scheduled).toMatchObject({ service: 'ao-control', parentSpanId: workflow.spanId });
      const ran = only(spans, `RunActivity:${activity}`);
      expect(ran.parentSpanId).toBe(scheduled.spanId);
      expect(ran.service).toBe(activity === 'execute' ? 'ao-runner' : 'ao-control');
    }
    expect(parentOf(spawn)?.name).toBe('RunActivity:execute');
    expect(spawn.service).toBe('ao-runner');
    expect(spawn.attributes['process.pid']).toEqual(expect.any(Number));
    // Walking up from the spawn reaches the request: one unbroken chain, one trace id.
    expect(path).toEqual(['POST /runs', `StartWorkflow:${RUN_WORKFLOW_TYPE}`, `RunWorkflow:${RUN_WORKFLOW_TYPE}`, 'StartActivity:execute', 'RunActivity:execute', 'executor spawn']);
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
  });
});

describe('tracing a request', () => {
  it('continues the trace of a caller that sends traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const response = await fetch(`${stack.apiUrl}/healthz`, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(response.status).toBe(200);
    const request = await eventually(() => only(receiver.spans.filter((span) => span.traceId === traceId), 'GET /healthz'));
    expect(request).toMatchObject({ service: 'ao-api', parentSpanId: callerSpan });
  });
});

describe('tracing in a process', () => {
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    tracing = startTracing({ serviceName: 'ao-test', exporter });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it('puts a run started through an API in this process (in-memory exporter) and its workers (OTLP) in one trace', async () => {
    const client = await connectClient(temporalSettingsFromEnv(TemporalEnv.parse({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: stack.namespace })), {
      interceptors: clientTracingInterceptors(),
    });
    const dataDir = await fs.mkdtemp(path.join(stack.root, 'in-process-api-'));
    const token = crypto.randomBytes(18).toString('base64url');
    const app = inProcessApp(stack, client, { dataDir, token, tracer: tracing.tracer });
    const server = await new Promise<http.Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const tag = uniqueTag('in-process');
      await stack.startRunner({ tags: [tag] });
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent: 'echo', prompt: 'in-process', additional_demands: { tags: [tag] } }),
      });
      expect(response.status).toBe(201);
      const { id } = (await response.json()) as { id: string };
      expect((await stack.waitForRun(id)).status).toBe('completed');

      const spans: ReadableSpan[] = exporter.getFinishedSpans();
      const request = spans.find((span) => span.name === 'POST /runs');
      const start = spans.find((span) => span.name === `StartWorkflow:${RUN_WORKFLOW_TYPE}`);
      expect(request?.resource.attributes['service.name']).toBe('ao-test');
      expect(start?.parentSpanId).toBe(request?.spanContext().spanId);
      const traceId = request!.spanContext().traceId;
      expect(start?.spanContext().traceId).toBe(traceId);
      // The control worker and the runner continue it, each exporting on its own.
      const received = await eventually(() => {
        const inTrace = receiver.spans.filter((span) => span.traceId === traceId);
        const workflow = only(inTrace, `RunWorkflow:${RUN_WORKFLOW_TYPE}`);
        return { workflow, spawn: only(inTrace, 'executor spawn') };
      }, testTime(30_000));
      expect(received.workflow).toMatchObject({ service: 'ao-control', parentSpanId: start!.spanContext().spanId });
      expect(received.spawn.attributes['ao.workflow_id']).toBe(runWorkflowId(id));
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await client.connection.close();
    }
  });

  it('stays off unless the environment asks for OTLP export', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_SERVICE_NAME: 'ao-api' })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(startTracing({ serviceName: 'ao-off' }).enabled).toBe(false);
  });
});

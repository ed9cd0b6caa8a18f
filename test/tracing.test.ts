import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RunsService } from '../api/runs-service.js';
import { clientTracingInterceptors } from '../core/observability/temporal-tracing.js';
import { startTracing, tracingWanted, type Tracing } from '../core/observability/tracing.js';
import { TemporalEnv, connectClient, temporalSettingsFromEnv } from '../core/temporal/connection.js';
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
    for (const activity of ['resolveRun', 'pickRunner', 'execute']) {
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

describe('tracing in a process', () => {
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    tracing = startTracing({ serviceName: 'ao-test', exporter });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it('makes the run’s StartWorkflow span a child of the caller’s active span, through the client interceptor', async () => {
    const client = await connectClient(temporalSettingsFromEnv(TemporalEnv.parse({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: stack.namespace })), {
      interceptors: clientTracingInterceptors(),
    });
    try {
      const runs = new RunsService({ client, configDir: stack.configDir, namespace: stack.namespace, temporalUiUrl: 'http://127.0.0.1:8233', noRunnerTimeoutSeconds: 1 });
      const parent = tracing.tracer.startSpan('caller');
      await context.with(trace.setSpan(context.active(), parent), () => runs.create({ agent: 'echo', prompt: 'in-process', parameters: {} }, 'tracing-test'));
      parent.end();
      const spans: ReadableSpan[] = exporter.getFinishedSpans();
      const start = spans.find((span) => span.name === `StartWorkflow:${RUN_WORKFLOW_TYPE}`);
      expect(start?.parentSpanId).toBe(parent.spanContext().spanId);
      expect(start?.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(start?.resource.attributes['service.name']).toBe('ao-test');
    } finally {
      await client.connection.close();
    }
  });

  it('continues the trace of a caller that sends traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const response = await fetch(`${stack.apiUrl}/healthz`, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(response.status).toBe(200);
    const request = await eventually(() => only(receiver.spans.filter((span) => span.traceId === traceId), 'GET /healthz'));
    expect(request).toMatchObject({ service: 'ao-api', parentSpanId: callerSpan });
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

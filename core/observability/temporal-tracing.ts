import { createRequire } from 'node:module';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Tracing } from './tracing.js';

/**
 * The workflow side of the Temporal OpenTelemetry interceptors. It is in every workflow bundle,
 * tracing on or off: histories recorded with it replay only with it (a run stopped by an update
 * replays its timer's cancel in another order without it: tried, and replay.test.ts failed), so
 * a bundle without it would break every run in flight. Tracing off, its spans go to a no-op sink.
 */
export const TRACING_WORKFLOW_INTERCEPTORS = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** A client's interceptors: starting a workflow (or signalling, updating it) carries the caller's span into its headers. */
export function clientTracingInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/** The sink the workflow interceptors export their spans through: the process's span processor (a no-op with tracing off). */
export function workflowSpanSinks(tracing: Pick<Tracing, 'spanProcessor' | 'resource'>): InjectedSinks<Record<string, never>> {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } as unknown as InjectedSinks<Record<string, never>>;
}

/** A worker's interceptors: each activity runs in a span that continues the workflow's (from the activity's headers). */
export function workerTracingInterceptors(): WorkerInterceptors {
  return {
    activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
  };
}

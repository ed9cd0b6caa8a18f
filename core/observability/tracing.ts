import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';

/**
 * The standard OpenTelemetry variables ao reads (the OTLP exporter itself also reads the rest of
 * `OTEL_EXPORTER_OTLP_*`, e.g. headers). Tracing is off unless an endpoint or `otlp` is set.
 */
export const TracingEnv = z.object({
  /** `otlp` turns export on (to the endpoint, default `http://localhost:4318`); `none` keeps it off even with an endpoint. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});
export type TracingEnv = z.infer<typeof TracingEnv>;

/** The tracer every ao span comes from. */
export const TRACER_NAME = 'ao';

export interface Tracing {
  /** False: spans are made by no-op tracers and nothing is exported. */
  enabled: boolean;
  tracer: Tracer;
  /** Where finished spans go; the workflow span sink feeds it too. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` unless OTEL_SERVICE_NAME says otherwise. */
  serviceName: string;
  env?: TracingEnv;
  /** An exporter of the caller's (a test's in-memory one): tracing is on, whatever the environment says. */
  exporter?: SpanExporter;
}

/** Whether the environment asks for export: `otlp`, or an endpoint without `none`. */
export const tracingWanted = (env: TracingEnv): boolean =>
  env.OTEL_TRACES_EXPORTER === 'otlp' || (env.OTEL_TRACES_EXPORTER !== 'none' && Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT));

/**
 * Starts this process's tracing, once, before any Temporal client or worker exists: registers the
 * global tracer provider (with async-local context, so a request's span is the parent of what its
 * handler does, across awaits) and the W3C propagator the Temporal interceptors carry context with.
 */
export function startTracing({ serviceName, env = {}, exporter }: TracingOptions): Tracing {
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? serviceName });
  if (!exporter && !tracingWanted(env)) {
    return { enabled: false, tracer: trace.getTracer(TRACER_NAME), spanProcessor: new NoopSpanProcessor(), resource, shutdown: () => Promise.resolve() };
  }
  // A caller's exporter gets every span at once; OTLP goes in batches.
  const spanProcessor = exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { enabled: true, tracer: provider.getTracer(TRACER_NAME), spanProcessor, resource, shutdown: () => provider.shutdown() };
}

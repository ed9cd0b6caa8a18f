import { SpanKind, SpanStatusCode, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { Request, RequestHandler } from 'express';
import type { ApiMetrics } from '../core/observability/metrics.js';

/** What a request no route pattern answered (a dashboard file, or no route at all) is counted as: raw paths would grow the label set without bound. */
const UNMATCHED_ROUTE = 'unmatched';

/** The route pattern (`/runs/:id`), never the raw path. */
const routeOf = (req: Request): string => {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : UNMATCHED_ROUTE;
};

/**
 * One span per request (continuing the caller's trace when it sends one) (the parent of what its handler starts in Temporal: the client interceptor
 * takes the active span) and its count and duration, labelled by route pattern once it is known.
 */
export function observeRequests(metrics: ApiMetrics, tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // A caller that sends `traceparent` (W3C) gets the run in its own trace.
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(`${req.method} request`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    res.once('finish', () => {
      const route = routeOf(req);
      const status = res.statusCode;
      metrics.httpRequests.inc({ method: req.method, route, status: String(status) });
      metrics.httpDuration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import type { ApiMetrics } from '../../core/observability/metrics.js';
import { METRICS_PATH } from '../../core/observability/metrics-server.js';
import { ApiRoutes } from '../route.js';

/**
 * Prometheus scrapes with a user token (any role: a viewer may read every figure here anyway, and
 * Prometheus sends one with `authorization: { credentials_file }`); runner tokens are refused as on
 * every user route. The runners serve their own metrics on a port of theirs.
 */
export function metricsRouter(metrics: ApiMetrics, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);
  routes.get(
    METRICS_PATH,
    {
      summary: 'The API’s metrics, in the Prometheus text format',
      description: 'Runs started by agent, events ingested by kind, requests by route and status, request durations. README, Metrics, lists each.',
      access: 'viewer',
      responses: { 200: { description: 'the Prometheus exposition', contentType: 'text/plain' } },
    },
    async (_input, _req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      return undefined;
    },
  );
  return routes.router;
}

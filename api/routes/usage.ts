import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { UsageQuery, UsageReport } from '../../core/contract/usage-report.js';
import { ApiRoutes } from '../route.js';
import type { UsageService } from '../usage-service.js';

export function usageRouter(usage: UsageService, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);
  routes.get(
    '/usage',
    {
      summary: 'Runs’ cost and tokens, by agent, profile or day',
      description: 'Adds up the cost and tokens runs ended with (search attributes `AoCostUsd`, `AoInputTokens`, `AoOutputTokens`), grouped by agent, runner profile or UTC day of their start; `since`/`until` bound the days.',
      query: UsageQuery,
      responses: { 200: { description: 'the runs’ usage, grouped', schema: UsageReport } },
    },
    async ({ query }) => ({ body: await usage.report(query) }),
  );
  return routes.router;
}

import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { HealthResponse } from '../../core/contract/http.js';
import { renderDocsPage } from '../docs-page.js';
import { DOCS_PATH, OPENAPI_PATH, openApiDocument, type OpenApiDocument } from '../openapi.js';
import { ApiRoutes } from '../route.js';

/** The routes anyone may call: health, the OpenAPI document and its reference page. */
export function publicRouter(registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);
  // Made at the first request, when every router has registered its routes.
  let document: OpenApiDocument | undefined;
  const current = (): OpenApiDocument => (document ??= openApiDocument(registry));

  routes.get('/healthz', { summary: 'Whether the API process is up', public: true, responses: { 200: { description: 'up', schema: HealthResponse } } }, () => ({
    body: { ok: true },
  }));

  routes.get(
    OPENAPI_PATH,
    { summary: 'This document: every route of the API, made from the schemas that check its requests', public: true, responses: { 200: { description: 'the OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } } },
    () => ({ body: current() }),
  );

  routes.get(
    DOCS_PATH,
    { summary: 'The API reference page, made from this document', public: true, responses: { 200: { description: 'an HTML page', contentType: 'text/html' } } },
    (_input, _req, res) => {
      res.type('html').set('cache-control', 'no-cache').send(renderDocsPage(current()));
      return undefined;
    },
  );

  return routes.router;
}

import fs from 'node:fs';
import path from 'node:path';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { repoRoot } from '../core/config/paths.js';

/** The name of the bearer-token security scheme every non-public operation requires. */
export const BEARER_SCHEME = 'bearer';

/** Where the API serves its OpenAPI document and its reference page. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** The media type of every JSON body, request or answer. */
export const JSON_MEDIA_TYPE = 'application/json';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** The registry every route file registers its routes in (through api/route.ts), with the bearer scheme. */
export function createApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'The API token: `AO_API_TOKEN`, or the one `npm start` generates into `.data/api-token`.',
  });
  return registry;
}

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };

/** The OpenAPI 3.1 document of every route registered so far. */
export function openApiDocument(registry: OpenAPIRegistry): OpenApiDocument {
  return new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' }).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'ao',
      version,
      description:
        'Agent orchestrator on Temporal: durable runs of AI coding agents and scripts on your own fleet. Every operation but the public ones needs `Authorization: Bearer <token>`. Bad input is a 4xx with the reasons, in the error body.',
    },
  });
}

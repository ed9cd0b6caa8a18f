import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DASHBOARD_BASE } from '../api/dashboard.js';
import { BEARER_SCHEME, DOCS_PATH, OPENAPI_PATH, type OpenApiDocument } from '../api/openapi.js';
import { collectPageErrors, launchBrowser, screenshot } from './support/browser.js';
import { inProcessApp } from './support/in-process-api.js';
import { TestStack } from './support/stack.js';

let stack: TestStack;
let document: OpenApiDocument;

beforeAll(async () => {
  stack = await TestStack.create();
  const response = await fetch(`${stack.apiUrl}${OPENAPI_PATH}`);
  expect(response.status).toBe(200);
  document = (await response.json()) as OpenApiDocument;
});
afterAll(async () => {
  await stack?.stop();
});

type Operation = { method: string; path: string; security: unknown[]; parameters: Array<{ name: string; in: string }> };

function operations(): Operation[] {
  return Object.entries(document.paths ?? {}).flatMap(([route, item]) =>
    Object.entries(item as Record<string, Omit<Operation, 'method' | 'path'>>).map(([method, operation]) => ({ method, path: route, ...operation })),
  );
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every route the express app serves, as `METHOD /path/{param}`, walking nested routers. */
function expressRoutes(app: Express): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`);
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}

describe('the OpenAPI document', () => {
  it('holds every route the app serves, besides the dashboard’s pages', async () => {
    // The app as api/server.ts builds it, with real services: routes are declared when it is made.
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const client = new Client({ connection, namespace: stack.namespace });
      const app = inProcessApp(stack, client, { dataDir: path.join(stack.root, 'in-process-data'), token: stack.token });
      const dashboard = (route: string): boolean => route === 'GET /' || route.startsWith(`GET ${DASHBOARD_BASE.slice(0, -1)}`);
      const served = expressRoutes(app).filter((route) => !dashboard(route));
      const documented = operations().map((operation) => `${operation.method.toUpperCase()} ${operation.path}`);
      expect(served.length).toBeGreaterThan(20);
      expect(documented.sort()).toEqual(served.sort());
    } finally {
      await connection.close();
    }
  });

  it('is OpenAPI 3.1, served without a token, with the bearer scheme and the error body of every refusal', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components?.securitySchemes?.[BEARER_SCHEME]).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.components?.schemas?.ErrorBody).toMatchObject({ type: 'object', required: ['error'] });
    for (const operation of operations()) {
      const responses = (document.paths![operation.path] as Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>)[operation.method]!.responses;
      expect(responses['400']?.content?.['application/json']?.schema, `${operation.method} ${operation.path}`).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    }
  });

  it('declares each path parameter of a route', () => {
    for (const operation of operations()) {
      const inPath = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const declared = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
      expect(declared, `${operation.method} ${operation.path}`).toEqual(inPath);
    }
  });

  it('asks for the token exactly where the API does', async () => {
    for (const operation of operations()) {
      const route = operation.path.replace(/\{\w+\}/g, 'x');
      const { status } = await fetch(`${stack.apiUrl}${route}`, { method: operation.method.toUpperCase() });
      const needsToken = operation.security.length > 0;
      expect(status === 401, `${operation.method} ${operation.path} answered ${status}`).toBe(needsToken);
    }
  });
});

describe('the API reference page', () => {
  it('shows every operation and sends one with the token given on the page', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${stack.apiUrl}${DOCS_PATH}`);
      for (const operation of operations()) {
        await expect(page.locator('h3', { hasText: `${operation.method.toUpperCase()} ${operation.path}` }).count()).resolves.toBeGreaterThan(0);
      }
      await page.fill('#token', stack.token);
      await page.dispatchEvent('#token', 'change');
      const runners = page.locator('form[data-method="get"][data-path="/runners"]');
      await runners.locator('button').click();
      await expect.poll(() => runners.locator('.answer').textContent()).toMatch(/^200 OK\n\{"runners":\[/);
      await screenshot(page, 'api-docs');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('is plain HTML that reads without a script or anything from another host', async () => {
    const response = await fetch(`${stack.apiUrl}${DOCS_PATH}`);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/);
    expect(html).toContain(`<a href="${OPENAPI_PATH}">`);
  });
});

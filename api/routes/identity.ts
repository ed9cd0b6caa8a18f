import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { ErrorBody } from '../../core/contract/http.js';
import { AuditPage, AuditQuery, CreateTokenRequest, CreatedToken, PrincipalView, TokenList } from '../../core/contract/identity.js';
import { Name } from '../../core/contract/names.js';
import type { AuditLog } from '../audit-log.js';
import type { CredentialStore } from '../credentials.js';
import { ANY_CREDENTIAL } from '../auth.js';
import { ApiRoutes } from '../route.js';

const TokenParams = z.object({ name: Name });

/** Tokens (admins manage them), the audit log (admins read it), and who the caller is. */
export function identityRouter(credentials: CredentialStore, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get(
    '/tokens',
    { summary: 'Every API token, never its secret', access: 'admin', responses: { 200: { description: 'the tokens', schema: TokenList } } },
    () => ({ body: { tokens: credentials.list() } }),
  );
  routes.post(
    '/tokens',
    {
      summary: 'Create a token with a role',
      description: 'The answer carries the secret, this once; the API keeps only its hash.',
      access: 'admin',
      body: CreateTokenRequest,
      responses: { 201: { description: 'the token, with its secret', schema: CreatedToken }, 409: { description: 'a token of that name exists', schema: ErrorBody } },
    },
    ({ body, principal }) => {
      const created = credentials.create(body.name, body.role, principal.name);
      audit.record(principal, 'token.create', body.name, { role: body.role });
      return { status: 201, body: created };
    },
  );
  routes.delete(
    '/tokens/:name',
    {
      summary: 'Revoke a token: the next request with it is a 401',
      access: 'admin',
      params: TokenParams,
      responses: {
        204: { description: 'revoked' },
        404: { description: 'no such token', schema: ErrorBody },
        409: { description: 'the built-in admin token, rotated by changing AO_API_TOKEN or the data dir’s api-token file', schema: ErrorBody },
      },
    },
    ({ params, principal }) => {
      credentials.revoke(params.name);
      audit.record(principal, 'token.revoke', params.name);
      return { status: 204, body: undefined };
    },
  );

  routes.get(
    '/audit',
    { summary: 'Every state change with who made it, oldest first', access: 'admin', query: AuditQuery, responses: { 200: { description: 'a page of entries', schema: AuditPage } } },
    ({ query }) => ({ body: audit.page(query.after, query.limit) }),
  );

  routes.get(
    '/whoami',
    {
      summary: 'The caller’s token name and role',
      description: 'A runner learns the name its events are filed under.',
      access: ANY_CREDENTIAL,
      responses: { 200: { description: 'the caller', schema: PrincipalView } },
    },
    ({ principal }) => ({ body: principal }),
  );

  return routes.router;
}

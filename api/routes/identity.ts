import { Router } from 'express';
import { z } from 'zod';
import { AuditQuery, CreateTokenRequest } from '../../core/contract/identity.js';
import { Name } from '../../core/contract/names.js';
import type { AuditLog } from '../audit-log.js';
import { principalOf } from '../auth.js';
import type { CredentialStore } from '../credentials.js';
import { route } from '../route.js';

const TokenParams = z.object({ name: Name });

/** Tokens (admins manage them), the audit log (admins read it), and who the caller is. */
export function identityRouter(credentials: CredentialStore, audit: AuditLog): Router {
  const router = Router();

  router.get('/tokens', route({ access: 'admin' }, () => Promise.resolve({ body: { tokens: credentials.list() } })));
  router.post(
    '/tokens',
    route({ access: 'admin', body: CreateTokenRequest }, ({ body, principal }) => {
      const created = credentials.create(body.name, body.role, principal.name);
      audit.record(principal, 'token.create', body.name, { role: body.role });
      return Promise.resolve({ status: 201, body: created });
    }),
  );
  router.delete(
    '/tokens/:name',
    route({ access: 'admin', params: TokenParams }, ({ params, principal }) => {
      credentials.revoke(params.name);
      audit.record(principal, 'token.revoke', params.name);
      return Promise.resolve({ status: 204, body: undefined });
    }),
  );

  router.get('/audit', route({ access: 'admin', query: AuditQuery }, ({ query }) => Promise.resolve({ body: audit.page(query.after, query.limit) })));

  /** Any valid token: a runner learns the name its events are filed under, the dashboard the user's role. */
  router.get('/whoami', (_req, res) => {
    res.json(principalOf(res));
  });

  return router;
}

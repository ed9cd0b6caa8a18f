import { Router } from 'express';
import { z } from 'zod';
import { AGENT_CLEARABLE_FIELDS, CreateScriptRequest, SCRIPT_CLEARABLE_FIELDS, UpdateAgentRequest, UpdateScriptRequest } from '../../core/contract/http.js';
import { Agent } from '../../core/contract/config-files.js';
import { Name } from '../../core/contract/names.js';
import { SCRIPT_VERSION_HEADER } from '../../core/config/script-bundle.js';
import { RUNNER_ROLE } from '../../core/contract/identity.js';
import type { AgentsService } from '../agents-service.js';
import type { AuditLog } from '../audit-log.js';
import { authorize, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { route } from '../route.js';
import type { ScriptsService } from '../scripts-service.js';

const NameParams = z.object({ name: Name });

/**
 * A PATCH body: the fields it sets (only those present: schema defaults must not overwrite what is
 * stored) and the ones it clears with `null`.
 */
function patchBody<S extends z.ZodType<Record<string, unknown>>>(schema: S, clearable: readonly string[]) {
  return z
    .record(z.string(), z.unknown(), { message: 'send a JSON object' })
    .transform((raw, context) => {
      const cleared = Object.keys(raw).filter((key) => raw[key] === null);
      for (const key of cleared) {
        if (!clearable.includes(key)) context.addIssue({ code: 'custom', path: [key], message: `${key} cannot be cleared` });
      }
      const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== null));
      const parsed = schema.safeParse(given);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) context.addIssue({ ...issue, code: 'custom', message: issue.message });
        return z.NEVER;
      }
      const changes = Object.fromEntries(Object.entries(parsed.data).filter(([key]) => key in given)) as z.infer<S>;
      return { changes, cleared };
    });
}

export function configRouter(agents: AgentsService, scripts: ScriptsService, audit: AuditLog): Router {
  const router = Router();

  router.get('/agents', route({}, async () => ({ body: { agents: await agents.list() } })));
  router.get('/agents/:name', route({ params: NameParams }, async ({ params }) => ({ body: await agents.get(params.name) })));
  router.post(
    '/agents',
    route({ access: 'admin', body: Agent }, async ({ body, principal }) => {
      const created = await agents.create(body);
      audit.record(principal, 'agent.create', created.name);
      return { status: 201, body: created };
    }),
  );
  router.patch(
    '/agents/:name',
    route({ access: 'admin', params: NameParams, body: patchBody(UpdateAgentRequest, AGENT_CLEARABLE_FIELDS) }, async ({ params, body, principal }) => {
      const updated = await agents.update(params.name, body.changes, body.cleared);
      audit.record(principal, 'agent.update', params.name, { fields: [...Object.keys(body.changes), ...body.cleared] });
      return { body: updated };
    }),
  );
  router.delete(
    '/agents/:name',
    route({ access: 'admin', params: NameParams }, async ({ params, principal }) => {
      await agents.delete(params.name);
      audit.record(principal, 'agent.delete', params.name);
      return { status: 204, body: undefined };
    }),
  );

  router.get('/scripts', route({}, async () => ({ body: { scripts: await scripts.list() } })));
  router.get('/scripts/:name', route({ params: NameParams }, async ({ params }) => ({ body: await scripts.get(params.name) })));
  router.post(
    '/scripts',
    route({ access: 'admin', body: CreateScriptRequest }, async ({ body, principal }) => {
      const created = await scripts.create(body);
      audit.record(principal, 'script.create', created.name, { version: created.version });
      return { status: 201, body: created };
    }),
  );
  router.patch(
    '/scripts/:name',
    route({ access: 'admin', params: NameParams, body: patchBody(UpdateScriptRequest, SCRIPT_CLEARABLE_FIELDS) }, async ({ params, body, principal }) => {
      if (Object.keys(body.changes).length === 0 && body.cleared.length === 0) throw new HttpError(400, 'nothing to change: send the fields to set');
      const updated = await scripts.update(params.name, body.changes, body.cleared);
      audit.record(principal, 'script.update', params.name, { version: updated.version });
      return { body: updated };
    }),
  );
  router.delete(
    '/scripts/:name',
    route({ access: 'admin', params: NameParams }, async ({ params, principal }) => {
      await scripts.delete(params.name);
      audit.record(principal, 'script.delete', params.name);
      return { status: 204, body: undefined };
    }),
  );
  // What runners install: a runner route, like posting events.
  router.get('/scripts/:name/download', async (req, res) => {
    authorize(principalOf(res), RUNNER_ROLE);
    const { name } = NameParams.parse(req.params);
    const { archive, version } = await scripts.bundle(name);
    res
      .status(200)
      .set({
        'content-type': 'application/gzip',
        'content-disposition': `attachment; filename="${name}.tar.gz"`,
        [SCRIPT_VERSION_HEADER]: version,
      })
      .send(archive);
  });

  return router;
}

import { Router } from 'express';
import { z } from 'zod';
import { AGENT_CLEARABLE_FIELDS, CreateScriptRequest, SCRIPT_CLEARABLE_FIELDS, UpdateAgentRequest, UpdateScriptRequest } from '../../core/contract/http.js';
import { Agent } from '../../core/contract/config-files.js';
import { Name } from '../../core/contract/names.js';
import { SCRIPT_VERSION_HEADER } from '../../core/config/script-bundle.js';
import type { AgentsService } from '../agents-service.js';
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

export function configRouter(agents: AgentsService, scripts: ScriptsService): Router {
  const router = Router();

  router.get('/agents', route({}, async () => ({ body: { agents: await agents.list() } })));
  router.get('/agents/:name', route({ params: NameParams }, async ({ params }) => ({ body: await agents.get(params.name) })));
  router.post('/agents', route({ body: Agent }, async ({ body }) => ({ status: 201, body: await agents.create(body) })));
  router.patch(
    '/agents/:name',
    route({ params: NameParams, body: patchBody(UpdateAgentRequest, AGENT_CLEARABLE_FIELDS) }, async ({ params, body }) => ({
      body: await agents.update(params.name, body.changes, body.cleared),
    })),
  );
  router.delete(
    '/agents/:name',
    route({ params: NameParams }, async ({ params }) => {
      await agents.delete(params.name);
      return { status: 204, body: undefined };
    }),
  );

  router.get('/scripts', route({}, async () => ({ body: { scripts: await scripts.list() } })));
  router.get('/scripts/:name', route({ params: NameParams }, async ({ params }) => ({ body: await scripts.get(params.name) })));
  router.post('/scripts', route({ body: CreateScriptRequest }, async ({ body }) => ({ status: 201, body: await scripts.create(body) })));
  router.patch(
    '/scripts/:name',
    route({ params: NameParams, body: patchBody(UpdateScriptRequest, SCRIPT_CLEARABLE_FIELDS) }, async ({ params, body }) => {
      if (Object.keys(body.changes).length === 0 && body.cleared.length === 0) throw new HttpError(400, 'nothing to change: send the fields to set');
      return { body: await scripts.update(params.name, body.changes, body.cleared) };
    }),
  );
  router.delete(
    '/scripts/:name',
    route({ params: NameParams }, async ({ params }) => {
      await scripts.delete(params.name);
      return { status: 204, body: undefined };
    }),
  );
  router.get('/scripts/:name/download', async (req, res) => {
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

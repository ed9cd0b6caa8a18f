import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import {
  AGENT_CLEARABLE_FIELDS,
  AgentList,
  CreateScriptRequest,
  ErrorBody,
  SCRIPT_CLEARABLE_FIELDS,
  ScriptList,
  UpdateAgentRequest,
  UpdateScriptRequest,
} from '../../core/contract/http.js';
import { Agent, Script } from '../../core/contract/config-files.js';
import { Name } from '../../core/contract/names.js';
import { SCRIPT_VERSION_HEADER } from '../../core/config/script-bundle.js';
import type { AgentsService } from '../agents-service.js';
import type { AuditLog } from '../audit-log.js';
import { HttpError } from '../errors.js';
import { RUNNER_ROLE } from '../../core/contract/identity.js';
import { ApiRoutes } from '../route.js';
import type { ScriptsService } from '../scripts-service.js';

const NameParams = z.object({ name: Name });

/** A field as a PATCH sends it: absent leaves it as stored (so no default), `null` clears it when it may be cleared. */
function patchField(field: z.ZodType, clearable: boolean): z.ZodType {
  let inner = field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;
  if (inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  return (clearable ? inner.nullable() : inner).optional();
}

/**
 * A PATCH body: the fields it sets (only those present) and the ones it clears with `null`. The
 * object it parses with is the one the OpenAPI document shows.
 */
function patchBody<S extends z.ZodObject>(schema: S, clearable: readonly string[]) {
  const fields = Object.fromEntries(Object.entries(schema.shape).map(([key, field]) => [key, patchField(field as z.ZodType, clearable.includes(key))]));
  return z
    .object(fields)
    .strict()
    .transform((body) => {
      const cleared = Object.keys(body).filter((key) => body[key] === null);
      const changes = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null)) as Partial<z.infer<S>>;
      return { changes, cleared };
    });
}

const notFound = (what: string) => ({ 404: { description: `no such ${what}`, schema: ErrorBody } });
const brokenFile = { 422: { description: 'the stored file is broken, or names a script that does not exist', schema: ErrorBody } };
const deleted = { 204: { description: 'deleted' } };

export function configRouter(agents: AgentsService, scripts: ScriptsService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get('/agents', { summary: 'Every agent (a broken one is listed with its error)', responses: { 200: { description: 'the agents', schema: AgentList } } }, async () => ({
    body: { agents: await agents.list() },
  }));
  routes.get(
    '/agents/:name',
    { summary: 'One agent', params: NameParams, responses: { 200: { description: 'the agent', schema: Agent }, ...notFound('agent'), ...brokenFile } },
    async ({ params }) => ({ body: await agents.get(params.name) }),
  );
  routes.post(
    '/agents',
    {
      summary: 'Create an agent',
      access: 'admin',
      body: Agent,
      responses: { 201: { description: 'the agent as stored', schema: Agent }, 409: { description: 'an agent of that name exists', schema: ErrorBody }, ...brokenFile },
    },
    async ({ body, principal }) => {
      const created = await agents.create(body);
      audit.record(principal, 'agent.create', created.name);
      return { status: 201, body: created };
    },
  );
  routes.patch(
    '/agents/:name',
    {
      summary: 'Change some fields of an agent; `null` clears an optional one',
      access: 'admin',
      params: NameParams,
      body: patchBody(UpdateAgentRequest, AGENT_CLEARABLE_FIELDS),
      responses: { 200: { description: 'the agent as stored', schema: Agent }, ...notFound('agent'), ...brokenFile },
    },
    async ({ params, body, principal }) => {
      const updated = await agents.update(params.name, body.changes, body.cleared);
      audit.record(principal, 'agent.update', params.name, { fields: [...Object.keys(body.changes), ...body.cleared] });
      return { body: updated };
    },
  );
  routes.delete('/agents/:name', { summary: 'Delete an agent', access: 'admin', params: NameParams, responses: { ...deleted, ...notFound('agent') } }, async ({ params, principal }) => {
    await agents.delete(params.name);
    audit.record(principal, 'agent.delete', params.name);
    return { status: 204, body: undefined };
  });

  routes.get('/scripts', { summary: 'Every script with its version (a broken one is listed with its error)', responses: { 200: { description: 'the scripts', schema: ScriptList } } }, async () => ({
    body: { scripts: await scripts.list() },
  }));
  routes.get(
    '/scripts/:name',
    { summary: 'One script, with its content', params: NameParams, responses: { 200: { description: 'the script', schema: Script }, ...notFound('script'), ...brokenFile } },
    async ({ params }) => ({ body: await scripts.get(params.name) }),
  );
  routes.post(
    '/scripts',
    {
      summary: 'Create a script; it is synced to every runner',
      access: 'admin',
      body: CreateScriptRequest,
      responses: { 201: { description: 'the script as stored, with its version', schema: Script }, 409: { description: 'a script of that name exists', schema: ErrorBody } },
    },
    async ({ body, principal }) => {
      const created = await scripts.create(body);
      audit.record(principal, 'script.create', created.name, { version: created.version });
      return { status: 201, body: created };
    },
  );
  routes.patch(
    '/scripts/:name',
    {
      summary: 'Change some fields of a script; `null` clears an optional one; synced to every runner',
      access: 'admin',
      params: NameParams,
      body: patchBody(UpdateScriptRequest, SCRIPT_CLEARABLE_FIELDS),
      responses: { 200: { description: 'the script as stored, with its new version', schema: Script }, ...notFound('script'), ...brokenFile },
    },
    async ({ params, body, principal }) => {
      if (Object.keys(body.changes).length === 0 && body.cleared.length === 0) throw new HttpError(400, 'nothing to change: send the fields to set');
      const updated = await scripts.update(params.name, body.changes, body.cleared);
      audit.record(principal, 'script.update', params.name, { version: updated.version });
      return { body: updated };
    },
  );
  routes.delete(
    '/scripts/:name',
    {
      summary: 'Delete a script, unless an agent uses it',
      access: 'admin',
      params: NameParams,
      responses: { ...deleted, ...notFound('script'), 409: { description: 'agents use the script (named in details.agents)', schema: ErrorBody } },
    },
    async ({ params, principal }) => {
      await scripts.delete(params.name);
      audit.record(principal, 'script.delete', params.name);
      return { status: 204, body: undefined };
    },
  );
  routes.get(
    '/scripts/:name/download',
    {
      summary: 'The script’s bundle, as runners install it',
      access: RUNNER_ROLE,
      description: `A tar.gz of the script file; its version is in the \`${SCRIPT_VERSION_HEADER}\` header.`,
      params: NameParams,
      responses: { 200: { description: 'the bundle', contentType: 'application/gzip' }, ...notFound('script'), ...brokenFile },
    },
    async ({ params }, _req, res) => {
      const { archive, version } = await scripts.bundle(params.name);
      res
        .status(200)
        .set({ 'content-type': 'application/gzip', 'content-disposition': `attachment; filename="${params.name}.tar.gz"`, [SCRIPT_VERSION_HEADER]: version })
        .send(archive);
      return undefined;
    },
  );

  return routes.router;
}

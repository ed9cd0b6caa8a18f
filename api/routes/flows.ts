import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { Flow, FlowList, FlowRunList, FlowRunView, ListFlowRunsQuery, PutFlowRequest, StartFlowRunRequest, StopFlowRunRequest } from '../../core/contract/flows.js';
import { ErrorBody } from '../../core/contract/http.js';
import { Name, RunId } from '../../core/contract/names.js';
import type { AuditLog } from '../audit-log.js';
import type { FlowsService } from '../flows-service.js';
import { ApiRoutes } from '../route.js';

const NameParams = z.object({ name: Name });
const FlowRunParams = z.object({ id: RunId });
const WaitQuery = z.object({ wait: z.enum(['true', 'false']).optional() }).strict();
const StartedFlowRun = z.object({ id: z.string(), status: z.literal('running'), url: z.string() }).meta({ id: 'StartedFlowRun' });
const StopFlowRunResponse = z.object({ id: z.string(), status: z.literal('stopping') }).meta({ id: 'StopFlowRunResponse' });

const error = (description: string) => ({ description, schema: ErrorBody });
const brokenFlow = { 422: error('the stored flow is broken, or names an agent that does not exist or cannot review') };

export function flowsRouter(flows: FlowsService, audit: AuditLog, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);

  routes.get('/flows', { summary: 'Every flow (a broken one is listed with its error)', responses: { 200: { description: 'the flows', schema: FlowList } } }, async () => ({
    body: { flows: await flows.list() },
  }));
  routes.get(
    '/flows/:name',
    { summary: 'One flow', params: NameParams, responses: { 200: { description: 'the flow', schema: Flow }, 404: error('no such flow'), ...brokenFlow } },
    async ({ params }) => ({ body: await flows.get(params.name) }),
  );
  routes.put(
    '/flows/:name',
    {
      summary: 'Create or replace a flow',
      access: 'admin',
      description: 'Its agents must exist; the reviewer’s must answer through an output schema asking for `{ verdict, comments }`.',
      params: NameParams,
      body: PutFlowRequest,
      responses: { 200: { description: 'the flow as stored (replaced)', schema: Flow }, 201: { description: 'the flow as stored (created)', schema: Flow }, 409: error('an agent it names is inactive'), ...brokenFlow },
    },
    async ({ params, body, principal }) => {
      const { flow, created } = await flows.put({ ...body, name: params.name });
      audit.record(principal, created ? 'flow.create' : 'flow.update', flow.name);
      return { status: created ? 201 : 200, body: flow };
    },
  );
  routes.delete('/flows/:name', { summary: 'Delete a flow', access: 'admin', params: NameParams, responses: { 204: { description: 'deleted' }, 404: error('no such flow') } }, async ({ params, principal }) => {
    await flows.delete(params.name);
    audit.record(principal, 'flow.delete', params.name);
    return { status: 204, body: undefined };
  });

  routes.post(
    '/flows/:name/runs',
    {
      summary: 'Start a run of a flow',
      access: 'operator',
      description: 'One workflow whose steps are child runs: the builder, then the reviewer, round by round. With `?wait=true` answers once the flow run has ended.',
      params: NameParams,
      query: WaitQuery,
      body: StartFlowRunRequest,
      responses: {
        201: { description: 'the flow run was started', schema: StartedFlowRun },
        200: { description: '`?wait=true`: the flow run as it ended', schema: FlowRunView },
        404: error('no such flow'),
        409: error('an agent of the flow is inactive'),
        ...brokenFlow,
      },
    },
    async ({ params, query, body, principal }) => {
      const { id } = await flows.start(params.name, body, principal.name);
      audit.record(principal, 'flow_run.start', id, { flow: params.name });
      if (query.wait === 'true') return { status: 200, body: await flows.waitForEnd(id) };
      return { status: 201, body: { id, status: 'running', url: `/flow-runs/${id}` } };
    },
  );
  routes.get(
    '/flow-runs',
    { summary: 'List flow runs, newest first', query: ListFlowRunsQuery, responses: { 200: { description: 'the flow runs', schema: FlowRunList } } },
    async ({ query }) => ({ body: { flow_runs: await flows.listRuns(query) } }),
  );
  routes.get(
    '/flow-runs/:id',
    { summary: 'A flow run: its steps and rounds, verdict, branch, diff and cost', params: FlowRunParams, responses: { 200: { description: 'the flow run', schema: FlowRunView }, 404: error('no such flow run') } },
    async ({ params }) => ({ body: await flows.getRun(params.id) }),
  );
  routes.post(
    '/flow-runs/:id/stop',
    {
      summary: 'Stop a flow run and the step it runs',
      access: 'operator',
      params: FlowRunParams,
      body: StopFlowRunRequest.optional(),
      responses: { 202: { description: 'the stop was accepted', schema: StopFlowRunResponse }, 404: error('no such flow run'), 409: error('the flow run has ended, or is stopping already') },
    },
    async ({ params, body, principal }) => {
      const accepted = await flows.stop(params.id, principal.name, body?.reason);
      audit.record(principal, 'flow_run.stop', params.id, body?.reason ? { reason: body.reason } : undefined);
      return { status: 202, body: { id: params.id, ...accepted } };
    },
  );

  return routes.router;
}

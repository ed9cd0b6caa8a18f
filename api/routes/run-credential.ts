import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import { z } from 'zod';
import { ErrorBody } from '../../core/contract/http.js';
import { RUNNER_ROLE } from '../../core/contract/identity.js';
import { MCP_PATH } from '../../core/contract/mcp.js';
import { isFinalRunStatus } from '../../core/contract/run-status.js';
import { HttpError } from '../errors.js';
import type { EventAdmission } from '../event-admission.js';
import { ApiRoutes } from '../route.js';
import type { RunCredentials } from '../run-credentials.js';
import type { RunsService } from '../runs-service.js';
import { RunParams } from './runs.js';

export const RunCredentialResponse = z
  .object({
    /** The run's own credential for ao's MCP server, valid while the run is live. */
    token: z.string(),
    /** Where the MCP server is, relative to the API's URL. */
    mcp_path: z.literal(MCP_PATH),
  })
  .meta({ id: 'RunCredentialResponse' });

/** Where a runner fetches the credential it gives a run's agent CLI for ao's MCP server. */
export function runCredentialRouter(runs: RunsService, runCredentials: RunCredentials, admission: EventAdmission, registry: OpenAPIRegistry): Router {
  const routes = new ApiRoutes(registry);
  routes.post(
    '/internal/runs/:id/credential',
    {
      summary: 'The MCP credential of a run, for the runner executing it',
      access: RUNNER_ROLE,
      description: `Only for a run assigned to a runner registered with the caller's credential, while it is live. The credential reaches ${MCP_PATH} only (start, read, wait for, stop and send input to the run's own children); every other route refuses it (403), and it is refused from the moment the run has ended (401).`,
      params: RunParams,
      responses: {
        200: { description: 'the run’s credential', schema: RunCredentialResponse },
        403: { description: 'the run was never assigned to this runner', schema: ErrorBody },
        409: { description: 'the run has ended', schema: ErrorBody },
      },
    },
    async ({ params, principal }) => {
      await admission.assertAssigned(principal, params.id);
      const run = await runs.get(params.id);
      if (isFinalRunStatus(run.status)) throw new HttpError(409, `run ${params.id} has ended (${run.status})`);
      return { body: { token: runCredentials.tokenFor(params.id), mcp_path: MCP_PATH } };
    },
  );
  return routes.router;
}

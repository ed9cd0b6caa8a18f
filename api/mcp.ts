import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { listAgents, loadAgent } from '../core/config/agents.js';
import { RunNotFoundError } from '../core/contract/errors.js';
import { ErrorBody, type RunView } from '../core/contract/http.js';
import { MCP_PATH, MCP_SERVER_NAME, MCP_TOOL_INPUTS } from '../core/contract/mcp.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import type { AuditLog } from './audit-log.js';
import { bearerToken } from './auth.js';
import { HttpError, toHttpError } from './errors.js';
import { BEARER_SCHEME, JSON_MEDIA_TYPE } from './openapi.js';
import type { RunCredentials } from './run-credentials.js';
import type { RunsService } from './runs-service.js';

export interface McpDependencies {
  runs: RunsService;
  runCredentials: RunCredentials;
  configDir: string;
  audit: AuditLog;
}

/** Who a run's MCP calls are attributed to, in histories and the audit log. */
export const runActor = (runId: string): string => `run:${runId}`;

const answer = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: { result: value } });
const refusal = (message: string): CallToolResult => ({ content: [{ type: 'text', text: message }], isError: true });
/** A domain error as the tool's refusal, in the words the HTTP API would answer with. */
const refusalOf = (error: unknown): CallToolResult => {
  const { status, body } = toHttpError(error);
  if (status >= 500) throw error;
  return refusal(`${body.error}${body.details ? ` ${JSON.stringify(body.details)}` : ''}`);
};

/** What a run's agent sees of a child: enough to act on its result. */
const childView = (run: RunView) => ({
  run_id: run.id,
  agent: run.agent,
  status: run.status,
  ...(run.result !== undefined ? { result: run.result } : {}),
  ...(run.error ? { error: run.error } : {}),
  ...(run.pending_reason ? { pending_reason: run.pending_reason } : {}),
});

/**
 * ao's MCP server for the agents of its runs, over streamable HTTP, stateless: each POST carries
 * the run's own credential and gets a server bound to that run. Its tools start children of the
 * calling run and read, wait for, stop and send input to them, nothing else; a credential of a run
 * that has ended is refused (401), as is any other token. Mounted before the API's token check,
 * which in turn refuses run credentials on every other route.
 */
export function mcpRouter(deps: McpDependencies, registry: OpenAPIRegistry): Router {
  const router = Router();
  documentMcp(registry);
  router.post(MCP_PATH, async (req, res) => {
    const runId = runOfRequest(deps, req.get('authorization'));
    const run = await deps.runs.get(runId).catch((error: unknown) => {
      if (error instanceof RunNotFoundError) throw new HttpError(401, `run ${runId} does not exist: its credential is not valid`);
      throw error;
    });
    if (isFinalRunStatus(run.status)) throw new HttpError(401, `run ${runId} has ended (${run.status}): its credential ended with it`);
    const server = serverFor(deps, run);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no stream to open with GET and no session to end with DELETE.
  for (const method of ['get', 'delete'] as const) {
    router[method](MCP_PATH, (req) => {
      runOfRequest(deps, req.get('authorization'));
      throw new HttpError(405, `${req.method} ${MCP_PATH}: ao's MCP server is stateless; send JSON-RPC with POST`);
    });
  }
  return router;
}

/** A JSON-RPC message (or batch) of the MCP protocol; the SDK's transport checks the rest. */
const McpMessage = z.union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown()))]).meta({ id: 'McpMessage' });

/** /mcp is JSON-RPC, not REST: documented by hand, with the answers the transport and this file give. */
function documentMcp(registry: OpenAPIRegistry): void {
  const error = (description: string) => ({ description, content: { [JSON_MEDIA_TYPE]: { schema: ErrorBody } } });
  const refusals = {
    400: error('bad input: malformed JSON, a body nested too deep, or (as a JSON-RPC error) not an MCP message'),
    401: error("not a run's own credential, or its run has ended"),
    500: error('internal error'),
  };
  registry.registerPath({
    method: 'post',
    path: MCP_PATH,
    summary: 'ao’s MCP server for the agents of its runs (streamable HTTP, stateless)',
    description: `Needs the calling run's own credential (not a user token), which ao gives each run's agent CLI. Tools: ${Object.keys(MCP_TOOL_INPUTS).join(', ')}; they act on the calling run's own children only. A credential of a run that has ended is refused.`,
    security: [{ [BEARER_SCHEME]: [] }],
    request: { body: { required: true, content: { [JSON_MEDIA_TYPE]: { schema: McpMessage } } } },
    responses: {
      200: { description: 'the JSON-RPC answer', content: { [JSON_MEDIA_TYPE]: { schema: McpMessage } } },
      202: { description: 'a notification, accepted' },
      406: error('the request does not accept application/json and text/event-stream'),
      413: error('the body is too large'),
      415: error('not JSON'),
      ...refusals,
    },
  });
  for (const method of ['get', 'delete'] as const) {
    registry.registerPath({
      method,
      path: MCP_PATH,
      summary: `${method.toUpperCase()} ${MCP_PATH}: not served (the server is stateless)`,
      security: [{ [BEARER_SCHEME]: [] }],
      responses: { 405: error('use POST'), ...refusals },
    });
  }
}

function runOfRequest(deps: McpDependencies, authorization: string | undefined): string {
  const token = bearerToken(authorization);
  const runId = token ? deps.runCredentials.runOf(token) : undefined;
  if (!runId) throw new HttpError(401, `${MCP_PATH} takes a run's own credential ("Authorization: Bearer aor_…"), which ao gives each run's agent CLI`);
  return runId;
}

/** A server whose tools act for `parent`, on its children only. */
function serverFor({ runs, configDir, audit }: McpDependencies, parent: RunView): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version: '1' });
  const by = runActor(parent.id);
  const allowed = async (): Promise<string[]> => (await loadAgent(configDir, parent.agent)).may_start ?? [];
  /** A run this one may act on: one of its own children, else a refusal naming why. */
  const child = async (runId: string): Promise<RunView | CallToolResult> => {
    const children = (await runs.get(parent.id)).children ?? [];
    if (!children.some((entry) => entry.run_id === runId)) return refusal(`run ${runId} is not a child of run ${parent.id}: this run's credential reaches only its own children`);
    return runs.get(runId);
  };
  const isRefusal = (value: RunView | CallToolResult): value is CallToolResult => 'content' in value;

  server.registerTool('list_agents', { description: 'The agents this run may start as child runs, with their parameters.', inputSchema: MCP_TOOL_INPUTS.list_agents }, async () => {
    const names = new Set(await allowed());
    const agents = (await listAgents(configDir)).filter((agent) => names.has(agent.name) && !('error' in agent));
    return answer(agents.map((agent) => ('error' in agent ? { name: agent.name } : { name: agent.name, description: agent.description, type: agent.type, parameters_schema: agent.parameters_schema })));
  });

  server.registerTool(
    'start_run',
    {
      description: 'Starts a child run of this run: an agent it may start (list_agents), under this run’s policy. Stopped when this run ends unless detached. Answers with its run_id.',
      inputSchema: MCP_TOOL_INPUTS.start_run,
    },
    async (input) => {
      const may = await allowed();
      if (!may.includes(input.agent)) {
        return refusal(`agent ${parent.agent} may not start agent ${input.agent}: its may_start lists ${may.length ? may.join(', ') : 'no agents'}`);
      }
      try {
        const { id } = await runs.create(
          {
            agent: input.agent,
            parameters: input.parameters ?? {},
            parent_run_id: parent.id,
            ...(input.prompt !== undefined ? { prompt: input.prompt } : {}),
            ...(input.detached !== undefined ? { detached: input.detached } : {}),
            ...(input.timeout_seconds ? { timeout_seconds: input.timeout_seconds } : {}),
            // The child is held to this run's policy: it can only be tightened on its runner, never loosened.
            ...(parent.policy ? { policy: parent.policy } : {}),
          },
          by,
        );
        audit.record({ name: by }, 'run.start', id, { agent: input.agent, parent_run_id: parent.id, detached: input.detached === true, via: 'mcp' });
        return answer({ run_id: id, status: 'pending' });
      } catch (error) {
        return refusalOf(error);
      }
    },
  );

  server.registerTool('get_run', { description: 'A child run of this run: status, result or error.', inputSchema: MCP_TOOL_INPUTS.get_run }, async ({ run_id }) => {
    const run = await child(run_id);
    return isRefusal(run) ? run : answer(childView(run));
  });

  server.registerTool(
    'wait_for_run',
    { description: 'Waits until a child run of this run has ended, at most timeout_seconds, and answers with its status and result.', inputSchema: MCP_TOOL_INPUTS.wait_for_run },
    async ({ run_id, timeout_seconds }) => {
      const run = await child(run_id);
      if (isRefusal(run)) return run;
      return answer(childView(await runs.waitForEndWithin(run_id, timeout_seconds * 1000)));
    },
  );

  server.registerTool('stop_run', { description: 'Stops a child run of this run (its processes are ended).', inputSchema: MCP_TOOL_INPUTS.stop_run }, async ({ run_id, reason }) => {
    const run = await child(run_id);
    if (isRefusal(run)) return run;
    try {
      const accepted = await runs.stop(run_id, by, reason ?? `stopped by its parent run ${parent.id}`);
      audit.record({ name: by }, 'run.stop', run_id, { via: 'mcp' });
      return answer({ run_id, ...accepted });
    } catch (error) {
      return refusalOf(error);
    }
  });

  server.registerTool('list_runs', { description: 'The child runs of this run and their status.', inputSchema: MCP_TOOL_INPUTS.list_runs }, async () => answer((await runs.get(parent.id)).children ?? []));

  server.registerTool('send_input', { description: 'Sends a message into a running child run of this run.', inputSchema: MCP_TOOL_INPUTS.send_input }, async ({ run_id, text }) => {
    const run = await child(run_id);
    if (isRefusal(run)) return run;
    try {
      const reply = await runs.sendInput(run_id, text, by);
      audit.record({ name: by }, 'run.input', run_id, { characters: text.length, via: 'mcp' });
      return answer({ run_id, ...reply });
    } catch (error) {
      return refusalOf(error);
    }
  });
  return server;
}

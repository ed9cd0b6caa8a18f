import { MCP_PATH } from '../../core/contract/mcp.js';

/** The API a runner reports to, and its runner token. */
export interface AgentApi {
  url: string;
  token: string;
}

const FETCH_TIMEOUT_MS = 10_000;

/** Why a run's agent got no MCP server; the run goes on without it. */
export class RunCredentialUnavailableError extends Error {}

/**
 * The run's own credential for ao's MCP server, from the API (which derives it; nothing is stored),
 * and the server's URL. The API gives it only to a runner the run was assigned to.
 */
export async function fetchRunCredential(api: AgentApi, runId: string): Promise<{ url: string; token: string }> {
  let response: Response;
  try {
    response = await fetch(`${api.url}/internal/runs/${encodeURIComponent(runId)}/credential`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}` },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    throw new RunCredentialUnavailableError(`the API did not answer: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as { token?: unknown; mcp_path?: unknown; error?: unknown };
  if (!response.ok || typeof body.token !== 'string') throw new RunCredentialUnavailableError(`the API answered ${response.status}${typeof body.error === 'string' ? `: ${body.error}` : ''}`);
  return { url: `${api.url}${MCP_PATH}`, token: body.token };
}

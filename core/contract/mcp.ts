import { z } from 'zod';
import { Name, RunId } from './names.js';

/**
 * ao's MCP server for the agents of its runs (api/mcp.ts): where it is, how an agent CLI is told
 * of it, and each tool's input. The tools act only on the calling run's own children.
 */

/** Served by the API over MCP streamable HTTP. */
export const MCP_PATH = '/mcp';
/** The server's name in each CLI's config: Claude shows its tools as `mcp__ao__<tool>`. */
export const MCP_SERVER_NAME = 'ao';
/** The executor variable that holds the run's credential; each CLI's MCP config reads the header from it. */
export const RUN_CREDENTIAL_ENV = 'AO_RUN_TOKEN';
/** The longest `wait_for_run` waits before answering with the run as it is. */
export const MAX_WAIT_SECONDS = 600;

const ChildRunId = z.object({ run_id: RunId.describe('a child run of this run (from start_run or list_runs)') });

/** Each tool's input, as a zod shape (the MCP SDK takes shapes). */
export const MCP_TOOL_INPUTS = {
  list_agents: {},
  start_run: {
    agent: Name.describe('an agent this run may start (list_agents)'),
    prompt: z.string().max(100_000).optional().describe('the child run’s prompt'),
    parameters: z.record(z.string(), z.unknown()).optional().describe('the agent’s parameters, checked against its parameters_schema'),
    detached: z.boolean().optional().describe('true: the child lives on when this run ends (default: it is stopped with this run)'),
    timeout_seconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
  },
  get_run: ChildRunId.shape,
  wait_for_run: {
    ...ChildRunId.shape,
    timeout_seconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).default(60).describe(`how long to wait for the run to end (at most ${MAX_WAIT_SECONDS}s); it is answered as it is then`),
  },
  stop_run: { ...ChildRunId.shape, reason: z.string().max(500).optional() },
  list_runs: {},
  send_input: { ...ChildRunId.shape, text: z.string().min(1).max(100_000) },
} as const;
export type McpToolName = keyof typeof MCP_TOOL_INPUTS;

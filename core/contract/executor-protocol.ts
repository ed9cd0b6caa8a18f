import { z } from 'zod';
import { ExecutorType, type ExecutorConfig } from './executor-profile.js';
import { MergedPolicy } from './policy.js';

/** The executor wire protocol: what an executor process reads on stdin and prints last on stdout. */

export const EXECUTOR_INVOCATION_SCHEMA_VERSION = '2.1';

/** What an executor process reads as JSON on stdin. */
export const ExecutorInvocation = z.object({
  schema_version: z.literal(EXECUTOR_INVOCATION_SCHEMA_VERSION),
  run_id: z.string(),
  agent: z.object({
    name: z.string(),
    type: z.string(),
    system_prompt: z.string().optional(),
    /** JSON Schema the run's final answer must match; it becomes `result_data.output`. */
    output_schema: z.record(z.string(), z.unknown()).optional(),
  }),
  prompt: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  executor_type: ExecutorType,
  /** The profile's `config`, checked against its type's schema when the runner loaded it. */
  executor_config: z.record(z.string(), z.unknown()),
  workspace_dir: z.string(),
  session_id: z.string().optional(),
  /** The profile's and the request's policies merged: what the executor must not do (ao's adapters also enforce it). */
  policy: MergedPolicy.optional(),
  /**
   * Agent CLIs: ao's MCP server for this run (its URL) and the environment variable holding the
   * run's own credential, which the CLI's config sends as `Authorization: Bearer …`. Never the credential itself.
   */
  ao_mcp: z.object({ url: z.string(), credential_env: z.string() }).optional(),
  /** Agent CLIs: where the runner keeps its synced scripts (`<scripts_dir>/<name>/<file>`), readable by the executor. */
  scripts_dir: z.string().optional(),
});
/** In ao's own adapters the config is typed by the executor type's schema. */
export type ExecutorInvocation<C extends ExecutorConfig = ExecutorConfig> = Omit<z.infer<typeof ExecutorInvocation>, 'executor_config'> & { executor_config: C };

/** What an executor process prints as its last JSON line on stdout. */
export const ExecutorOutput = z.object({
  status: z.enum(['completed', 'failed']).default('completed'),
  result_data: z.unknown().optional(),
  error: z.string().optional(),
  session_id: z.string().optional(),
  /** What people should see (a patrol's failed checks): each becomes an `alert` event of the run. */
  alerts: z.array(z.string().max(2000)).max(100).optional(),
});
export type ExecutorOutput = z.infer<typeof ExecutorOutput>;

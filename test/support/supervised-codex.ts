import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../core/config/paths.js';
import { ownedByExecutor } from './executor-user.js';
import * as openai from './scripted-openai.js';
import type { TestStack } from './stack.js';
import { startSupervisedRunners, type SupervisedRunner } from './supervised-runners.js';

/** A supervised codex profile's config against the scripted endpoint: its commands and patches wait for an operator. */
export const supervisedCodexConfig = (endpoint: openai.ScriptedOpenAI, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'gpt-5.5',
  sandbox: 'workspace-write',
  approval_required_tools: ['exec_command', 'apply_patch'],
  provider: { name: 'local', base_url: `${endpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 },
  env_passthrough: ['OPENAI_API_KEY', 'CODEX_HOME'],
  ...extra,
});

/**
 * Starts one runner per named config, each with a supervised codex profile, all against one
 * scripted Responses endpoint playing `turns`. Each runner's CODEX_HOME (where codex keeps its
 * threads) is its own, outside /tmp, and the executor user's to write.
 */
export async function startSupervisedCodex<K extends string>(
  stack: TestStack,
  turns: openai.Turn[],
  configs: (endpoint: openai.ScriptedOpenAI) => Record<K, Record<string, unknown>>,
): Promise<{ endpoint: openai.ScriptedOpenAI; runners: Record<K, SupervisedRunner> }> {
  const endpoint = await openai.startScriptedOpenAI(turns);
  const runners = await startSupervisedRunners(
    stack,
    {
      type: 'codex',
      command: [path.join(repoRoot, 'node_modules', '.bin', 'codex')],
      env: async (home) => {
        await fs.mkdir(path.join(home, 'codex-home'));
        await ownedByExecutor(home);
        return { OPENAI_API_KEY: 'test-key', HOME: home, CODEX_HOME: path.join(home, 'codex-home') };
      },
    },
    configs(endpoint),
  );
  return { endpoint, runners };
}

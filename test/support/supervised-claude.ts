import path from 'node:path';
import { repoRoot } from '../../core/config/paths.js';
import * as anthropic from './scripted-anthropic.js';
import type { TestStack } from './stack.js';
import { startSupervisedRunners, type SupervisedRunner } from './supervised-runners.js';

/** A supervised profile's config for the real claude CLI against the scripted endpoint. */
export const supervisedConfig = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  permission_mode: 'default',
  model: 'claude-sonnet-4-5',
  // Read asks only outside the workspace; it is safe to run in parallel, so the CLI asks about several at once.
  approval_required_tools: ['Bash', 'Write', 'Read'],
  env_passthrough: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'],
  ...extra,
});

/**
 * Starts one runner per named config, each with a supervised claude-code profile in a profiles
 * dir of its own, all against one scripted Anthropic endpoint playing `turns`.
 */
export async function startSupervisedClaude<K extends string>(
  stack: TestStack,
  turns: anthropic.Turn[],
  configs: Record<K, Record<string, unknown>>,
  /** Profile keys beside `config` (`policy`, `lifecycle`), by name. */
  profileExtras: Partial<Record<K, Record<string, unknown>>> = {},
): Promise<{ endpoint: anthropic.ScriptedAnthropic; runners: Record<K, SupervisedRunner> }> {
  const endpoint = await anthropic.startScriptedAnthropic(turns);
  const runners = await startSupervisedRunners(
    stack,
    {
      type: 'claude-code',
      command: [path.join(repoRoot, 'node_modules', '.bin', 'claude')],
      env: () => ({ ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' }),
    },
    configs,
    profileExtras,
  );
  return { endpoint, runners };
}

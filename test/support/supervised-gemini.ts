import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../core/config/paths.js';
import * as gemini from './scripted-gemini.js';
import { uniqueTag, type TestStack } from './stack.js';

/** The vendor settings the gemini CLI needs against the scripted endpoint; the profile passes them through. */
const geminiEnv = (endpoint: gemini.ScriptedGemini): NodeJS.ProcessEnv => ({ GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url });

/** A supervised gemini profile's config: shell commands and file writes wait for an operator. */
export const supervisedGeminiConfig = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'gemini-2.5-pro',
  approval_required_tools: ['run_shell_command', 'write_file'],
  // One attempt per model call: a scripted error fails at once instead of after the CLI's backoff.
  settings: { general: { maxAttempts: 1 } },
  env_passthrough: ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL'],
  ...extra,
});

/**
 * Starts one runner per named config, each with a gemini profile in a profiles dir of its own,
 * all against one scripted Gemini endpoint playing `turns`.
 */
export async function startSupervisedGemini<K extends string>(
  stack: TestStack,
  turns: gemini.Turn[],
  configs: Record<K, Record<string, unknown>>,
): Promise<{ endpoint: gemini.ScriptedGemini; runners: Record<K, { tag: string; projectDir: string }> }> {
  const endpoint = await gemini.startScriptedGemini(turns);
  const profiles = await fs.mkdtemp(path.join(stack.root, 'gemini-profiles-'));
  const runners = {} as Record<K, { tag: string; projectDir: string }>;
  for (const [name, config] of Object.entries(configs) as Array<[K, Record<string, unknown>]>) {
    await fs.writeFile(path.join(profiles, `gemini-${name}.json`), JSON.stringify({ type: 'gemini', command: [path.join(repoRoot, 'node_modules', '.bin', 'gemini')], config }));
    const tag = uniqueTag(`gemini-${name}`);
    const runner = await stack.startRunner({ profile: `gemini-${name}`, tags: [tag], extraArgs: ['--profiles-dir', profiles], env: geminiEnv(endpoint) });
    runners[name] = { tag, projectDir: runner.projectDir };
  }
  return { endpoint, runners };
}

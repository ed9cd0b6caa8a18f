import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { GeminiConfig } from '../../core/contract/executor-profile.js';
import type { ExecutorInvocation, ExecutorOutput } from '../../core/contract/executor-protocol.js';
import { NO_USAGE, priced } from '../../core/contract/usage.js';
import { MCP_SERVER_NAME } from '../../core/contract/mcp.js';
import { approvalPolicyOf } from './approval-policy.js';
import { ExecutorConfigError, detectCli } from './cli-support.js';
import type { ExecutorAdapter } from './contract.js';
import { geminiConversation, geminiPrompt } from './gemini-acp.js';
import { acpOutput } from './gemini-acp-lines.js';
import { keepSessionFileApart } from './gemini-sessions.js';
import { withStructuredAnswer } from './output-schema.js';
import { geminiPolicyFile } from './policy-settings.js';
import { ensureOwnSharedDir } from '../../core/config/private-files.js';

/** The settings home the executor prepares: API-key auth, no folder-trust prompt, no usage statistics. */
export const GEMINI_SETTINGS = {
  security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } },
  privacy: { usageStatisticsEnabled: false },
};

/**
 * The settings file: ao's defaults, the profile's settings, its retry bound (`general.maxAttempts`
 * counts the first attempt), and ao's MCP server for the run. Its header names the variable holding
 * the run's credential (gemini expands `${VAR}` in settings), so the file is the same for every run and
 * holds no credential; ACP's `session/new` servers are merged into it.
 */
export function geminiSettings(invocation: ExecutorInvocation<GeminiConfig>): Record<string, unknown> {
  const config = invocation.executor_config;
  let settings: Record<string, unknown> = { ...GEMINI_SETTINGS, ...config.settings };
  if (config.max_vendor_retries !== undefined) {
    const general = typeof settings.general === 'object' && settings.general !== null ? settings.general : {};
    settings = { ...settings, general: { ...general, maxAttempts: config.max_vendor_retries + 1 } };
  }
  const mcp = invocation.ao_mcp;
  if (!mcp) return settings;
  const own = (settings.mcpServers ?? {}) as Record<string, unknown>;
  // Trusted: ao's server acts only on the run's own children, within its limits.
  return { ...settings, mcpServers: { ...own, [MCP_SERVER_NAME]: { httpUrl: mcp.url, headers: { Authorization: `Bearer \${${mcp.credential_env}}` }, trust: true } } };
}

/** `gemini --acp`: the profile's model and policy file, never a shell string; the prompt goes over ACP. */
export function geminiArgs(invocation: ExecutorInvocation<GeminiConfig>, command: string[]): string[] {
  const config = invocation.executor_config;
  if (!geminiPrompt(invocation)) throw new ExecutorConfigError('a gemini run needs a prompt');
  return [
    ...command,
    '--acp',
    ...(config.model ? ['-m', config.model] : []),
    ...(config.policy ? ['--policy', config.policy] : []),
    // The run's policy, in gemini's own policy-engine format (written by `prepare`); the flag repeats.
    ...(invocation.policy ? ['--policy', runPolicyFile(invocation.run_id)] : []),
  ];
}

/** Where a run's policy is written for gemini: outside the workspace, so the agent cannot change it. */
const runPolicyFile = (runId: string): string => path.join(os.tmpdir(), 'ao-gemini-policy', `${runId}.toml`);

/**
 * Gemini's homes under the executor user's: one store kept across runs (the sessions a follow-up
 * run loads, the prompt history), and a home per run whose `.gemini` holds the run's settings and
 * links to the store. Gemini reads its settings only from `$HOME/.gemini/settings.json` (a system
 * settings file must sit in root-owned folders alone), so one home for every run would give a run
 * whichever settings the last run to start wrote.
 */
const storeHome = (home: string): string => path.join(home, '.cache', 'ao', 'gemini-home');
const runHome = (home: string, runId: string): string => path.join(home, '.cache', 'ao', 'gemini-runs', runId);
/** What the run's `.gemini` shares with the store. */
const STORED = ['tmp', 'history'];
const SETTINGS_FILE = 'settings.json';
/** Run ids name folders here: ao's own ids only, never a path. */
const RUN_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * Drives the real `gemini` CLI over the Agent Client Protocol, every run a conversation (see
 * `gemini-acp.ts`); its settings home is prepared here, so no user config leaks in.
 */
export const geminiAdapter: ExecutorAdapter<GeminiConfig> = {
  capabilities: { resume: true, structured_events: true, cost: false, approvals: true, input: true, steer: false, interrupt: true },
  defaultCommand: () => ['gemini'],
  plan: (invocation, command) => {
    const supervision = approvalPolicyOf(invocation.executor_config, invocation.policy);
    return { argv: geminiArgs(invocation, command), stdin: '', conversation: true, ...(supervision ? { supervision } : {}) };
  },
  converse: geminiConversation,
  // Gemini skips a policy file it cannot read, without a word: it must be readable to the executor.
  executorReads: (invocation) => [
    ...(invocation.executor_config.policy ? [invocation.executor_config.policy] : []),
    ...(invocation.policy ? [runPolicyFile(invocation.run_id)] : []),
  ],
  // The store is the executor's for good; the run's home too, but for its settings (and `.gemini`
  // is sticky, so they cannot be replaced either): they stay the runner's.
  executorWrites: (invocation, where) => {
    const own = runHome(where.home, invocation.run_id);
    return [{ dir: storeHome(where.home), lasting: true }, { dir: own, except: ['.gemini'] }, { dir: path.join(own, '.gemini'), except: [SETTINGS_FILE] }];
  },
  async prepare(invocation, where) {
    if (!RUN_ID.test(invocation.run_id)) throw new ExecutorConfigError(`run id ${JSON.stringify(invocation.run_id)} cannot name a folder`);
    const store = path.join(storeHome(where.home), '.gemini');
    for (const entry of STORED) await fs.mkdir(path.join(store, entry), { recursive: true });
    const own = path.join(runHome(where.home, invocation.run_id), '.gemini');
    // A retried attempt starts from a fresh home as well.
    await fs.rm(path.dirname(own), { recursive: true, force: true });
    await fs.mkdir(own, { recursive: true });
    await fs.chmod(own, 0o1755);
    for (const entry of STORED) await fs.symlink(path.join(store, entry), path.join(own, entry));
    await fs.writeFile(path.join(own, SETTINGS_FILE), JSON.stringify(geminiSettings(invocation), null, 2), { mode: 0o644 });
    if (invocation.session_id) await keepSessionFileApart(storeHome(where.home), invocation.session_id);
    if (invocation.policy) {
      const file = runPolicyFile(invocation.run_id);
      // Readable by the executor user, writable by the runner alone.
      await ensureOwnSharedDir(path.dirname(file)).catch((error: Error) => {
        throw new ExecutorConfigError(`cannot write the run's policy for gemini: ${error.message}`);
      });
      await fs.writeFile(file, geminiPolicyFile(invocation.policy), { mode: 0o644 });
    }
    return { HOME: path.dirname(own) };
  },
  async release(invocation, where) {
    await fs.rm(runHome(where.home, invocation.run_id), { recursive: true, force: true });
    if (invocation.policy) await fs.rm(runPolicyFile(invocation.run_id), { force: true });
  },
  interpret: (outcome, invocation) => withStructuredAnswer(withGeminiUsage(acpOutput(outcome, invocation.session_id), invocation.executor_config), invocation.agent.output_schema),
  detect: (command) => detectCli(command, { name: 'gemini', npmPackage: '@google/gemini-cli', helpArgs: ['--help'], requiredFlags: ['--acp', '--policy', '--model'] }),
};

/** The run's usage in ao's shape (its prompts' token counts), priced by the table: gemini reports no cost. */
function withGeminiUsage(output: ExecutorOutput, config: GeminiConfig): ExecutorOutput {
  const data = output.result_data as { usage?: { input_tokens: number; output_tokens: number }; prompts?: number } | undefined;
  if (!data?.usage) return output;
  const usage = priced({ ...NO_USAGE, input_tokens: data.usage.input_tokens, output_tokens: data.usage.output_tokens, turns: data.prompts ?? 0 }, config.model, config.prices);
  return { ...output, result_data: { ...data, usage, ...(usage.cost_usd !== undefined ? { cost_usd: usage.cost_usd } : {}) } };
}

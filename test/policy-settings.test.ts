import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import { mergePolicies, type MergedPolicy } from '../core/contract/policy.js';
import { claudePolicySettings, codexOverrideArgs, codexPolicySettings, geminiPolicyFile } from '../activities/executors/policy-settings.js';
import { cliHarness, exists, type CliRun, type JsonLine } from './support/cli-run.js';
import { callTool, partsOf, reply, startScriptedGemini } from './support/scripted-gemini.js';

/**
 * A run's policy in each CLI's own settings. Claude's are exercised end to end in
 * policy-runs.test.ts; Codex's rules are checked with the real `codex execpolicy check`, and
 * Gemini's policy file with the real gemini CLI in --yolo (it asks nobody) against the scripted endpoint.
 */

const run = promisify(execFile);
const harness = cliHarness();
const policy: MergedPolicy = mergePolicies({
  shell_deny: ['git push', 'rm -rf'],
  shell_allow: ['npm test'],
  paths: { deny: ['.env*', '.git/', 'secrets/**'] },
  requires_approval_for: ['deps_add', 'deploy', 'secrets'],
  deploy_patterns: ['kubectl apply'],
  network: 'restricted',
})!;

describe('the Claude Code translation', () => {
  it('denies the shell commands, network clients, web tools and paths, and asks about the categories', () => {
    const { disallowedTools, settings } = claudePolicySettings(policy);
    expect(disallowedTools).toEqual(expect.arrayContaining(['Bash(git push)', 'Bash(git push:*)', 'Bash(rm -rf:*)', 'Bash(curl:*)', 'WebFetch', 'WebSearch']));
    expect(settings.permissions.deny).toEqual(expect.arrayContaining(['Read(**/.env*)', 'Edit(**/.env*)', 'Edit(**/.git/**)', 'Edit(./secrets/**)', 'Bash(git push:*)']));
    expect(settings.permissions.ask).toEqual(expect.arrayContaining(['Bash(npm install:*)', 'Bash(kubectl apply:*)', 'Read(**/.env)']));
  });

  it('keeps a rule with a comma out of the comma-separated --disallowedTools, in the settings only', () => {
    const { disallowedTools, settings } = claudePolicySettings(mergePolicies({ shell_deny: ['cut -f 1,2'] })!);
    expect(disallowedTools).toEqual([]);
    expect(settings.permissions.deny).toEqual(['Bash(cut -f 1,2)', 'Bash(cut -f 1,2:*)']);
  });

  it('never turns shell_allow into a CLI allow rule', () => {
    const { disallowedTools, settings } = claudePolicySettings(policy);
    expect(JSON.stringify({ disallowedTools, settings })).not.toContain('npm test');
    expect(settings).not.toHaveProperty('permissions.allow');
  });
});

describe('the Codex translation', () => {
  const codex = path.join(repoRoot, 'node_modules', '.bin', 'codex');
  const check = async (rules: string, command: string[]): Promise<{ decision?: string; matchedRules: unknown[] }> => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-codex-rules-'));
    try {
      const file = path.join(dir, 'ao-policy.rules');
      await fs.writeFile(file, rules);
      const { stdout } = await run(codex, ['execpolicy', 'check', '--rules', file, ...command]);
      return JSON.parse(stdout) as { decision?: string; matchedRules: unknown[] };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  };

  it('writes rules the real codex reads: denied commands forbidden, categories prompted, the rest left alone', async () => {
    const { rules } = codexPolicySettings(policy);
    expect((await check(rules, ['git', 'push', 'origin', 'main'])).decision).toBe('forbidden');
    expect((await check(rules, ['curl', 'https://example.invalid'])).decision).toBe('forbidden');
    expect((await check(rules, ['npm', 'install', 'left-pad'])).decision).toBe('prompt');
    expect((await check(rules, ['kubectl', 'apply', '-f', 'x.yaml'])).decision).toBe('prompt');
    expect((await check(rules, ['git', 'status'])).matchedRules).toEqual([]);
  });

  it('keeps the sandbox to the workspace, and its network off when restricted', () => {
    expect(codexPolicySettings(policy, 'danger-full-access').overrides).toEqual({ sandbox_mode: 'workspace-write', 'sandbox_workspace_write.network_access': false, web_search: 'disabled' });
    expect(codexPolicySettings(policy, 'read-only').overrides).toEqual({ sandbox_mode: 'read-only', web_search: 'disabled' });
    const open = mergePolicies({ network: 'open' })!;
    expect(codexOverrideArgs(codexPolicySettings(open).overrides)).toEqual(['-c', 'sandbox_mode="workspace-write"', '-c', 'sandbox_workspace_write.network_access=true']);
  });
});

describe('the Gemini translation', () => {
  const geminiBundle = path.join(repoRoot, 'node_modules', '@google', 'gemini-cli', 'bundle', 'gemini.js');
  const model = 'gemini-2.5-pro';

  async function runGemini(turnsIn: (project: string) => Parameters<typeof startScriptedGemini>[0]) {
    const { root, project, home } = await harness.tempDirs('ao-gemini-policy-', ['project', 'home']);
    await fs.mkdir(path.join(home, '.gemini'), { recursive: true });
    await fs.writeFile(
      path.join(home, '.gemini', 'settings.json'),
      JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } }, privacy: { usageStatisticsEnabled: false } }),
    );
    const file = path.join(root, 'ao-policy.toml');
    await fs.writeFile(file, geminiPolicyFile(policy));
    const endpoint = harness.closeAfter(await startScriptedGemini(turnsIn(project)));
    const result: CliRun<JsonLine> = await harness.start<JsonLine>({
      name: 'gemini',
      command: process.execPath,
      args: [geminiBundle, '-p', 'do it', '--output-format', 'stream-json', '-m', model, '--yolo', '--policy', file],
      cwd: project,
      env: { HOME: home, GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url },
      ownGroup: true,
    }).finished;
    return { result, project, endpoint };
  }
  const responses = (endpoint: Awaited<ReturnType<typeof runGemini>>['endpoint']) =>
    endpoint.mainRequests.flatMap((request) => partsOf(request, 'functionResponse').map((part) => JSON.stringify(part.functionResponse!.response)));

  it('writes a policy file the real gemini CLI loads and obeys even in --yolo: a denied path and a denied command', async () => {
    const { result, project, endpoint } = await runGemini((dir) => [
      // Not .env: the CLI refuses that one on its own, before its policy engine.
      callTool('write_file', { file_path: path.join(dir, 'secrets', 'db.json'), content: '{}\n' }),
      callTool('run_shell_command', { command: 'git push origin main > pushed.txt' }),
      callTool('write_file', { file_path: path.join(dir, 'notes.txt'), content: 'fine\n' }),
      reply('Done.'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(await exists(path.join(project, 'secrets', 'db.json'))).toBe(false);
    expect(await exists(path.join(project, 'pushed.txt'))).toBe(false);
    expect(await fs.readFile(path.join(project, 'notes.txt'), 'utf8'), 'what the policy does not name still runs').toBe('fine\n');
    const told = responses(endpoint).join('\n');
    expect(told).toContain('paths.deny: secrets/**');
    expect(told).toContain('shell_deny');
  });

  it('writes only argsPatterns the CLI accepts (it drops a rule with nested quantifiers without a word)', () => {
    const patterns = [...geminiPolicyFile(policy).matchAll(/^argsPattern = (".*")$/gm)].map((match) => JSON.parse(match[1]!) as string);
    expect(patterns).toHaveLength(3);
    // The CLI's own check (packages/core/src/policy/utils.ts isSafeRegExp).
    for (const pattern of patterns) expect(/\([^)]*[*+?{].*\)[*+?{]/.test(pattern), pattern).toBe(false);
    expect(new RegExp(patterns[0]!).test('\0"file_path":"/w/sub/.env.local"\0')).toBe(true);
    expect(new RegExp(patterns[1]!).test('\0"file_path":"/w/.git/config"\0')).toBe(true);
    expect(new RegExp(patterns[0]!).test('\0"file_path":"/w/src/env.ts"\0')).toBe(false);
  });
});

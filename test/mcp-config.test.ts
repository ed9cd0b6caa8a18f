import { describe, expect, it } from 'vitest';
import { claudeArgs } from '../activities/executors/claude-code.js';
import { codexArgs } from '../activities/executors/codex.js';
import { geminiSettings } from '../activities/executors/gemini.js';
import type { ClaudeCodeConfig, CodexConfig, GeminiConfig } from '../core/contract/executor-profile.js';
import type { ExecutorInvocation } from '../core/contract/executor-protocol.js';
import { RUN_CREDENTIAL_ENV } from '../core/contract/mcp.js';

/**
 * How each agent CLI is told of ao's MCP server for its run: the URL, and a header that names the
 * variable holding the run's credential, never the credential itself (argv is readable by other
 * users of the machine; the executor's environment is not). The real claude CLI using it end to
 * end is in test/mcp.test.ts.
 */

const ao_mcp = { url: 'http://127.0.0.1:8787/mcp', credential_env: RUN_CREDENTIAL_ENV };
const invocation = <C>(executor_type: ExecutorInvocation['executor_type'], config: C): ExecutorInvocation & { executor_config: C } => ({
  schema_version: '2.1',
  run_id: 'r1',
  agent: { name: 'foreman', type: 'autonomous' },
  prompt: 'start a child',
  parameters: {},
  executor_type,
  executor_config: config as never,
  workspace_dir: '/work',
  ao_mcp,
});

describe('ao’s MCP server in each agent CLI’s config', () => {
  it('claude: an http server in --mcp-config beside the profile’s own, its tools allowed, the header read from the variable', () => {
    const config: ClaudeCodeConfig = { mcp_servers: { docs: { type: 'http', url: 'http://docs' } }, allowed_tools: ['Read'] };
    const argv = claudeArgs(invocation('claude-code', config), ['claude'], false);
    const mcp = JSON.parse(argv[argv.indexOf('--mcp-config') + 1]!) as { mcpServers: Record<string, unknown> };
    expect(mcp.mcpServers).toEqual({ docs: { type: 'http', url: 'http://docs' }, ao: { type: 'http', url: ao_mcp.url, headers: { Authorization: `Bearer \${${RUN_CREDENTIAL_ENV}}` } } });
    expect(argv[argv.indexOf('--allowedTools') + 1]).toBe('Read,mcp__ao');
  });

  it('codex: mcp_servers.ao with bearer_token_env_var as -c overrides', () => {
    const argv = codexArgs(invocation<CodexConfig>('codex', {}), ['codex']);
    expect(argv).toEqual(['codex', 'app-server', '-c', `mcp_servers.ao.url="${ao_mcp.url}"`, '-c', `mcp_servers.ao.bearer_token_env_var="${RUN_CREDENTIAL_ENV}"`]);
  });

  it('gemini: mcpServers.ao in its settings with httpUrl and the header read from the variable', () => {
    const settings = geminiSettings(invocation<GeminiConfig>('gemini', { settings: { mcpServers: { docs: { httpUrl: 'http://docs' } } } }));
    expect(settings.mcpServers).toEqual({ docs: { httpUrl: 'http://docs' }, ao: { httpUrl: ao_mcp.url, headers: { Authorization: `Bearer \${${RUN_CREDENTIAL_ENV}}` }, trust: true } });
  });

  it('a run without ao’s server (a runner with no API) gets none', () => {
    const { ao_mcp: _none, ...claude } = invocation<ClaudeCodeConfig>('claude-code', {});
    const { ao_mcp: _neither, ...codex } = invocation<CodexConfig>('codex', {});
    expect(claudeArgs(claude, ['claude'], false)).not.toContain('--mcp-config');
    expect(codexArgs(codex, ['codex'])).toEqual(['codex', 'app-server']);
  });
});

import { DEPS_ADD_PATTERNS, MERGE_PATTERNS, NETWORK_PROGRAMS, type MergedPolicy, type PolicyApprovalCategory } from '../../core/contract/policy.js';

/**
 * A run's policy in each agent CLI's own settings, so that a CLI that skips asking ao (a mode that
 * lets edits pass, a tool it does not ask about) still refuses what the policy refuses. These are
 * a second wall behind ao's own judge, never a looser one: only denials and "ask" rules are
 * translated, never `shell_allow` (ao answers those itself).
 */

/** The commands an approval category names (`deploy`: the policy's own patterns). */
function approvalPatterns(policy: MergedPolicy): Array<{ category: PolicyApprovalCategory; pattern: string }> {
  const named: Record<Exclude<PolicyApprovalCategory, 'secrets'>, string[]> = { merge: MERGE_PATTERNS, deps_add: DEPS_ADD_PATTERNS, deploy: policy.deploy_patterns };
  return policy.requires_approval_for.flatMap((category) => (category === 'secrets' ? [] : named[category].map((pattern) => ({ category, pattern }))));
}

/** Network clients and web tools the CLIs must not use under `network: restricted`. */
const restrictedPrograms = (policy: MergedPolicy): string[] => (policy.network === 'restricted' ? NETWORK_PROGRAMS : []);

// ── Claude Code ─────────────────────────────────────────────────────────────

/** A path glob as a Claude Code permission rule's path (gitignore-like, relative to the working folder). */
function claudePath(glob: string): string {
  const body = glob.replace(/^\.\//, '').replace(/^\//, '');
  const folder = body.endsWith('/') ? `${body}**` : body;
  // Without a folder in it, a glob matches at any depth (gitignore); with one, from the workspace's root.
  return body.replace(/\/+$/, '').includes('/') ? `./${folder}` : `**/${folder}`;
}

/** A command pattern as Claude Code Bash rules: the exact command and the command with anything after it. */
const bashRules = (pattern: string): string[] => (pattern.includes('*') ? [`Bash(${pattern})`] : [`Bash(${pattern})`, `Bash(${pattern}:*)`]);

export interface ClaudePolicySettings {
  /** `--disallowedTools` entries. */
  disallowedTools: string[];
  /** `--settings` JSON: permission rules the CLI applies before (and without) asking. */
  settings: { permissions: { deny: string[]; ask: string[] } };
}

/**
 * Claude Code: `shell_deny` and network clients as `--disallowedTools` Bash rules (and no
 * `WebFetch`/`WebSearch` when the network is restricted); `paths.deny` as `Read(…)` and `Edit(…)`
 * deny rules (Edit covers every edit tool), secret-looking files as `Read(…)` ask rules, approval
 * categories as Bash ask rules.
 */
export function claudePolicySettings(policy: MergedPolicy): ClaudePolicySettings {
  const disallowed = [
    ...policy.shell_deny.flatMap(bashRules),
    ...restrictedPrograms(policy).flatMap(bashRules),
    ...(policy.network === 'restricted' ? ['WebFetch', 'WebSearch'] : []),
  ];
  const deny = [...policy.paths_deny.flatMap((glob) => [`Read(${claudePath(glob)})`, `Edit(${claudePath(glob)})`]), ...disallowed];
  const ask = [
    ...approvalPatterns(policy).flatMap(({ pattern }) => bashRules(pattern)),
    ...(policy.requires_approval_for.includes('secrets') ? ['Read(**/.env)', 'Read(**/.env.*)', 'Read(**/*.pem)', 'Read(**/*.key)', 'Read(**/id_rsa*)', 'Read(**/id_ed25519*)'] : []),
  ];
  // `--disallowedTools` takes a comma-separated list: a rule with a comma in it goes in the settings only.
  return { disallowedTools: [...new Set(disallowed.filter((rule) => !rule.includes(',')))], settings: { permissions: { deny: [...new Set(deny)], ask: [...new Set(ask)] } } };
}

// ── Codex ───────────────────────────────────────────────────────────────────

export type CodexSandbox = 'read-only' | 'workspace-write' | 'danger-full-access';

export interface CodexPolicySettings {
  /** `-c key=value` overrides (values as TOML). */
  overrides: Record<string, string | boolean>;
  /** An execpolicy file (`prefix_rule(…)`, Starlark) for `$CODEX_HOME/rules/`: denied commands forbidden, approval categories prompted. */
  rules: string;
}

const starlarkString = (text: string): string => JSON.stringify(text);
/** A command pattern as an execpolicy token list; a `*` word ends it (a prefix rule already matches anything after). */
const prefixTokens = (pattern: string): string[] => {
  const words = pattern.split(/\s+/).filter(Boolean);
  const wild = words.findIndex((word) => word.includes('*'));
  return wild < 0 ? words : words.slice(0, Math.max(1, wild));
};

/**
 * Codex: the sandbox never wider than `workspace-write` under a policy (no writes outside the
 * workspace), its network off when restricted, web search disabled when restricted; denied
 * commands and approval categories as execpolicy prefix rules.
 */
export function codexPolicySettings(policy: MergedPolicy, sandbox: CodexSandbox = 'workspace-write'): CodexPolicySettings {
  const mode: CodexSandbox = sandbox === 'danger-full-access' ? 'workspace-write' : sandbox;
  const restricted = policy.network === 'restricted';
  const overrides: Record<string, string | boolean> = {
    sandbox_mode: mode,
    ...(mode === 'workspace-write' ? { 'sandbox_workspace_write.network_access': !restricted } : {}),
    ...(restricted ? { web_search: 'disabled' } : {}),
  };
  const rule = (pattern: string, decision: 'forbidden' | 'prompt', why: string): string =>
    `prefix_rule(pattern = [${prefixTokens(pattern).map(starlarkString).join(', ')}], decision = ${starlarkString(decision)}, justification = ${starlarkString(why)})`;
  const rules = [
    '# Written by ao from the run\'s policy.',
    ...policy.shell_deny.map((pattern) => rule(pattern, 'forbidden', `shell_deny: ${pattern}`)),
    ...restrictedPrograms(policy).map((program) => rule(program, 'forbidden', `network: restricted (${program})`)),
    ...approvalPatterns(policy).map(({ category, pattern }) => rule(pattern, 'prompt', `requires_approval_for: ${category} (${pattern})`)),
  ];
  return { overrides, rules: `${rules.join('\n')}\n` };
}

/** `-c` arguments for the overrides, as `codex` takes them. */
export const codexOverrideArgs = (overrides: CodexPolicySettings['overrides']): string[] =>
  Object.entries(overrides).flatMap(([key, value]) => ['-c', `${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`]);

// ── Gemini ──────────────────────────────────────────────────────────────────

/** Gemini CLI's tools by what they do. */
const GEMINI_SHELL = 'run_shell_command';
const GEMINI_WRITE_TOOLS = ['write_file', 'replace'];
const GEMINI_READ_TOOLS = ['read_file', 'read_many_files'];
const GEMINI_WEB_TOOLS = ['web_fetch', 'google_web_search'];
/** User-tier priorities (0–999): ao's denials above its questions, both above the CLI's defaults. */
const DENY_PRIORITY = 990;
const ASK_PRIORITY = 900;

const tomlString = (text: string): string => JSON.stringify(text);
const tomlList = (items: string[]): string => `[${items.map(tomlString).join(', ')}]`;
const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A path glob as a regex over the tool's JSON arguments (`"file_path":"…"`), any folder or anchored, as the judge reads it. */
function geminiPathPattern(glob: string): string {
  const body = glob.replace(/^\.\//, '').replace(/^\//, '');
  const folder = body.endsWith('/');
  const core = body
    .replace(/\/+$/, '')
    .split('**')
    .map((part) => part.split('*').map(escapeRegex).join('[^"/]*'))
    .join('[^"]*');
  // Any folder before it, anchored globs too: the file tools pass absolute paths, and a wider match only refuses more.
  // No quantified groups: the CLI drops a rule whose pattern has nested quantifiers.
  return `"(?:file_path|absolute_path|path)":"(?:${core}|[^"]*/${core})${folder ? '/' : '(?:"|/)'}`;
}

interface GeminiRule {
  toolName: string | string[];
  decision: 'deny' | 'ask_user';
  priority: number;
  commandPrefix?: string[];
  argsPattern?: string;
  denyMessage?: string;
}

function tomlRule(rule: GeminiRule): string {
  const lines = ['[[rule]]', `toolName = ${Array.isArray(rule.toolName) ? tomlList(rule.toolName) : tomlString(rule.toolName)}`];
  if (rule.commandPrefix) lines.push(`commandPrefix = ${tomlList(rule.commandPrefix)}`);
  if (rule.argsPattern) lines.push(`argsPattern = ${tomlString(rule.argsPattern)}`);
  lines.push(`decision = ${tomlString(rule.decision)}`, `priority = ${rule.priority}`);
  if (rule.denyMessage) lines.push(`denyMessage = ${tomlString(rule.denyMessage)}`);
  return lines.join('\n');
}

/**
 * Gemini CLI: a policy file for its policy engine (`--policy <file>.toml`): denied commands and
 * network clients as `run_shell_command` deny rules by `commandPrefix`, `paths.deny` as deny rules
 * on the file tools' `file_path`, web tools denied when restricted, approval categories as
 * `ask_user` rules.
 */
export function geminiPolicyFile(policy: MergedPolicy): string {
  const rules: GeminiRule[] = [];
  const denied = [...policy.shell_deny.map(prefixTokens), ...restrictedPrograms(policy).map((program) => [program])].map((words) => words.join(' '));
  if (denied.length) rules.push({ toolName: GEMINI_SHELL, commandPrefix: [...new Set(denied)], decision: 'deny', priority: DENY_PRIORITY, denyMessage: 'Refused by the run\'s policy (shell_deny / network).' });
  for (const glob of policy.paths_deny) {
    rules.push({ toolName: [...GEMINI_WRITE_TOOLS, ...GEMINI_READ_TOOLS], argsPattern: geminiPathPattern(glob), decision: 'deny', priority: DENY_PRIORITY, denyMessage: `Refused by the run's policy (paths.deny: ${glob}).` });
  }
  if (policy.network === 'restricted') rules.push({ toolName: GEMINI_WEB_TOOLS, decision: 'deny', priority: DENY_PRIORITY, denyMessage: 'Refused by the run\'s policy (network: restricted).' });
  const asked = approvalPatterns(policy).map(({ pattern }) => prefixTokens(pattern).join(' '));
  if (asked.length) rules.push({ toolName: GEMINI_SHELL, commandPrefix: [...new Set(asked)], decision: 'ask_user', priority: ASK_PRIORITY });
  return `# Written by ao from the run's policy.\n${rules.map(tomlRule).join('\n\n')}\n`;
}

import { z } from 'zod';
import { shellCommands, type ShellCommand } from './shell-words.js';
import {
  MERGE_PATTERNS,
  DEPS_ADD_PATTERNS,
  NETWORK_PROGRAMS,
  HARMLESS_WRITE_TARGETS,
  AWKS,
  INLINE_CODE_FLAGS,
  basename,
  matchesPrefix,
  matchesLoosely,
  couldMatch,
  mentions,
  resolvePath,
  insideWorkspace,
  pathMatchesGlob,
  looksSecret,
  opaquePath,
} from './policy-match.js';

export { DEPS_ADD_PATTERNS, MERGE_PATTERNS, NETWORK_PROGRAMS, SECRET_FILE_GLOBS, insideWorkspace, pathMatchesGlob, resolvePath } from './policy-match.js';

/**
 * A run's policy: what ao itself decides about the tool uses an agent CLI asks about, before any
 * person is asked, and what each CLI's own settings are made to refuse. A profile's `policy` and a
 * run request's `policy` are merged so that the request can only tighten: see `mergePolicies`.
 */

/** What `requires_approval_for` can name: each category puts the matching tool uses to an operator. */
export const POLICY_APPROVAL_CATEGORIES = [
  /** `git merge`, `git rebase`, `git pull`, `git push`, `gh pr merge`. */
  'merge',
  /** Package installs and additions: npm, pnpm, yarn, bun, pip, uv, poetry, cargo, go, gem. */
  'deps_add',
  /** Reading secret-looking files (`.env*`, keys, credentials), by a file tool or a shell command. */
  'secrets',
  /** The commands the policy's `deploy_patterns` name. */
  'deploy',
] as const;
export const PolicyApprovalCategory = z.enum(POLICY_APPROVAL_CATEGORIES);
export type PolicyApprovalCategory = z.infer<typeof PolicyApprovalCategory>;

export const NETWORK_MODES = ['restricted', 'open'] as const;
export const NetworkMode = z.enum(NETWORK_MODES);
export type NetworkMode = z.infer<typeof NetworkMode>;

/**
 * A command pattern: words, each a glob (`*` any characters); the first is the program (matched by
 * its basename). `git push`, `rm -rf`, `npm run *`.
 */
const CommandPattern = z
  .string()
  .trim()
  .min(1, 'a command pattern is not empty')
  .max(500)
  .refine((pattern) => !/[;&|<>`$()\n]/.test(pattern), 'a command pattern is words, without shell operators, substitutions or redirections');

/** A path glob relative to the workspace: `.env*` (any folder), `.git/` (a folder and all under it), `secrets/**`, `config/*.key`. */
const PathGlob = z
  .string()
  .trim()
  .min(1, 'a path glob is not empty')
  .max(500)
  .refine((glob) => !glob.split('/').includes('..'), 'a path glob names paths inside the workspace, without ".."');

const Patterns = z.array(CommandPattern).max(200);

/** `policy` in a profile's config and in `POST /runs`: every key optional, unknown keys refused. */
export const RunPolicy = z
  .object({
    /** Commands answered "allow" at once (every simple command of a compound one must match). */
    shell_allow: Patterns.optional(),
    /** Commands refused, wherever they appear in a compound command; deny wins over everything. */
    shell_deny: Patterns.optional(),
    /** Files: writes outside the workspace are always refused; `deny` globs are refused for reads and writes. */
    paths: z.object({ deny: z.array(PathGlob).max(200).optional() }).strict().optional(),
    /** Categories of tool uses that wait for an operator. */
    requires_approval_for: z.array(PolicyApprovalCategory).optional(),
    /** The commands `requires_approval_for: ["deploy"]` puts to an operator. */
    deploy_patterns: Patterns.optional(),
    /** @defaultValue `open`. `restricted`: no web tools, no network clients, procedural scripts in a network namespace of their own. */
    network: NetworkMode.optional(),
  })
  .strict()
  .meta({ id: 'RunPolicy' });
export type RunPolicy = z.infer<typeof RunPolicy>;

/**
 * Profile and request policies merged. Every field is a union or an intersection, so there is no
 * way to write a looser merged policy than any of its parts: denials, path globs, approval
 * categories and deploy patterns are unioned; `shell_allow` keeps every part's list and a command
 * is allowed only when each list allows it; `restricted` wins over `open`.
 */
export const MergedPolicy = z
  .object({
    shell_deny: z.array(z.string()),
    /** One list per part that has one: a command must match every list. */
    shell_allow: z.array(z.array(z.string())),
    paths_deny: z.array(z.string()),
    requires_approval_for: z.array(PolicyApprovalCategory),
    deploy_patterns: z.array(z.string()),
    network: NetworkMode,
  })
  .meta({ id: 'MergedPolicy' });
export type MergedPolicy = z.infer<typeof MergedPolicy>;

const union = <T>(...lists: Array<readonly T[] | undefined>): T[] => [...new Set(lists.flatMap((list) => list ?? []))];

/** Merges the profile's policy with a run request's (and any other part): undefined when none has one. */
export function mergePolicies(...parts: Array<RunPolicy | undefined>): MergedPolicy | undefined {
  const present = parts.filter((part): part is RunPolicy => part !== undefined);
  if (!present.length) return undefined;
  return {
    shell_deny: union(...present.map((part) => part.shell_deny)),
    shell_allow: present.flatMap((part) => (part.shell_allow ? [part.shell_allow] : [])),
    paths_deny: union(...present.map((part) => part.paths?.deny)),
    requires_approval_for: union(...present.map((part) => part.requires_approval_for)),
    deploy_patterns: union(...present.map((part) => part.deploy_patterns)),
    network: present.some((part) => part.network === 'restricted') ? 'restricted' : 'open',
  };
}

// ── what the judge is asked ──────────────────────────────────────────────────

/** A tool use, as the judge sees it: a shell command, file reads or writes, a web request, or another tool. */
export type PolicyAsk =
  | { kind: 'shell'; tool: string; command: string }
  | { kind: 'read'; tool: string; paths: string[] }
  | { kind: 'write'; tool: string; paths: string[] }
  | { kind: 'network'; tool: string }
  | { kind: 'other'; tool: string };

export type PolicyVerdict =
  | { verdict: 'deny'; rule: string }
  | { verdict: 'ask'; rule: string }
  | { verdict: 'allow'; rule: string }
  | { verdict: 'none' };

const NONE: PolicyVerdict = { verdict: 'none' };
const RANK = { deny: 3, ask: 2, allow: 1, none: 0 } as const;
/** The strictest of several verdicts (deny > ask > allow > no opinion); the first of equals. */
const strictest = (verdicts: PolicyVerdict[]): PolicyVerdict => verdicts.reduce((worst, next) => (RANK[next.verdict] > RANK[worst.verdict] ? next : worst), NONE);


function judgePath(policy: MergedPolicy, target: string, access: 'read' | 'write', workspaceDir: string): PolicyVerdict {
  if (access === 'write' && opaquePath(target)) return { verdict: 'deny', rule: `paths: ${target} cannot be checked to lie in the workspace; writes go inside it` };
  const relative = insideWorkspace(workspaceDir, target);
  if (access === 'write' && relative === undefined && !HARMLESS_WRITE_TARGETS.has(resolvePath('/', target))) {
    return { verdict: 'deny', rule: `paths: no writes outside the workspace (${target})` };
  }
  // Outside the workspace only folder-free globs (`.env*`) apply: the others are anchored at its root.
  const outside = resolvePath(resolvePath('/', workspaceDir), target);
  const denied = policy.paths_deny.find((glob) => (relative !== undefined ? pathMatchesGlob(relative, glob) : !glob.replace(/\/+$/, '').includes('/') && pathMatchesGlob(outside, glob)));
  if (denied) return { verdict: 'deny', rule: `paths.deny: ${denied}` };
  if (access === 'read' && policy.requires_approval_for.includes('secrets') && looksSecret(target)) return { verdict: 'ask', rule: `requires_approval_for: secrets (${target})` };
  return NONE;
}

// ── shell ───────────────────────────────────────────────────────────────────

/** Words of a simple command that may name files: arguments that are not options. */
const fileArguments = (command: ShellCommand): string[] => command.words.slice(1).flatMap((word) => (word.startsWith('-') ? (word.includes('=') ? [word.slice(word.indexOf('=') + 1)] : []) : [word]));

function judgeSimple(policy: MergedPolicy, command: ShellCommand, workspaceDir: string): PolicyVerdict {
  const verdicts: PolicyVerdict[] = [];
  for (const pattern of policy.shell_deny) {
    if (matchesLoosely(command, pattern)) verdicts.push({ verdict: 'deny', rule: `shell_deny: ${pattern}` });
    else if (couldMatch(command, pattern)) verdicts.push({ verdict: 'ask', rule: `shell_deny: ${pattern} (the command is built at run time, so it may be one)` });
  }
  const program = basename(command.words[0] ?? '');
  const inline = INLINE_CODE_FLAGS[program];
  if (inline || AWKS.has(program)) {
    // awk's program is its first operand; the others take it after a flag.
    const code = AWKS.has(program) ? command.words.slice(1).join(' ') : command.words.slice(1).filter((_, index, words) => index > 0 && inline!.includes(words[index - 1]!)).join(' ');
    const denied = policy.shell_deny.find((pattern) => mentions(code, pattern));
    if (denied) verdicts.push({ verdict: 'deny', rule: `shell_deny: ${denied} (named in ${program}'s inline code)` });
  }
  if (policy.network === 'restricted' && NETWORK_PROGRAMS.includes(program)) verdicts.push({ verdict: 'deny', rule: `network: restricted (${program})` });
  const categories: Array<[PolicyApprovalCategory, string[]]> = [
    ['merge', MERGE_PATTERNS],
    ['deps_add', DEPS_ADD_PATTERNS],
    ['deploy', policy.deploy_patterns],
  ];
  for (const [category, patterns] of categories) {
    if (!policy.requires_approval_for.includes(category)) continue;
    const matched = patterns.find((pattern) => matchesLoosely(command, pattern) || couldMatch(command, pattern));
    if (matched) verdicts.push({ verdict: 'ask', rule: `requires_approval_for: ${category} (${matched})` });
  }
  for (const target of command.writes) verdicts.push(judgePath(policy, target, 'write', workspaceDir));
  for (const target of [...command.reads, ...fileArguments(command)]) verdicts.push(judgePath(policy, target, 'read', workspaceDir));
  if (command.opaque && (policy.shell_deny.length || policy.requires_approval_for.some((category) => category !== 'secrets'))) {
    verdicts.push({ verdict: 'ask', rule: `policy: ao cannot see what this command runs (${command.opaque})` });
  }
  const worst = strictest(verdicts);
  if (worst.verdict !== 'none') return worst;
  return allowedByEveryList(policy, command);
}

/** Allowed at once only when every `shell_allow` list allows it, and nothing about it is decided at run time. */
function allowedByEveryList(policy: MergedPolicy, command: ShellCommand): PolicyVerdict {
  if (!policy.shell_allow.length || command.dynamic || command.opaque || command.writes.length) return NONE;
  const matched: string[] = [];
  for (const list of policy.shell_allow) {
    const pattern = list.find((candidate) => matchesPrefix(command, candidate));
    if (!pattern) return NONE;
    matched.push(pattern);
  }
  return { verdict: 'allow', rule: `shell_allow: ${[...new Set(matched)].join(' + ')}` };
}

function judgeShell(policy: MergedPolicy, text: string, workspaceDir: string): PolicyVerdict {
  const parsed = shellCommands(text);
  const verdicts = parsed.commands.map((command) => judgeSimple(policy, command, workspaceDir));
  const worst = strictest(verdicts);
  if (worst.verdict === 'deny') return worst;
  if (parsed.unparsed) {
    // What could not be split (an unclosed quote, a here-document): a denied pattern it mentions is denied, otherwise a person decides.
    const denied = policy.shell_deny.find((pattern) => mentions(text, pattern));
    if (denied) return { verdict: 'deny', rule: `shell_deny: ${denied} (in a command ao cannot split: ${parsed.unparsed})` };
    return { verdict: 'ask', rule: `policy: ao cannot judge this command (${parsed.unparsed})` };
  }
  if (worst.verdict === 'ask') return worst;
  // A compound command is allowed only when every part of it is.
  if (verdicts.length && verdicts.every((verdict) => verdict.verdict === 'allow')) {
    return { verdict: 'allow', rule: [...new Set(verdicts.map((verdict) => (verdict as { rule: string }).rule))].join('; ') };
  }
  return NONE;
}

/**
 * ao's own judgement of a tool use under a merged policy: `deny` (with the rule, which the model is
 * told), `allow` (answered at once), `ask` (an operator decides; the rule is shown), or no opinion
 * (the profile's `approval_required_tools` decide). Shell commands are split into every simple
 * command they run (`&&`, `;`, pipes, `$(…)`, backquotes, `sh -c "…"`, `xargs`, `env`, `sudo`…);
 * what cannot be split is put to a person. Paths are resolved against the workspace lexically
 * (the runner also checks links on disk).
 */
export function judgePolicy(policy: MergedPolicy, ask: PolicyAsk, workspaceDir: string): PolicyVerdict {
  switch (ask.kind) {
    case 'shell':
      return judgeShell(policy, ask.command, workspaceDir);
    case 'read':
    case 'write': {
      const access = ask.kind;
      return strictest(ask.paths.map((target) => judgePath(policy, target, access, workspaceDir)));
    }
    case 'network':
      return policy.network === 'restricted' ? { verdict: 'deny', rule: `network: restricted (${ask.tool})` } : NONE;
    case 'other':
      return NONE;
  }
}

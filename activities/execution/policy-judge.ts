import fs from 'node:fs/promises';
import path from 'node:path';
import { insideWorkspace, judgePolicy, type MergedPolicy, type PolicyAsk, type PolicyVerdict } from '../../core/contract/policy.js';
import type { PermissionAsk } from '../executors/contract.js';

/**
 * The runner's side of the policy judge: a CLI's permission request in the judge's terms (by the
 * tool names of Claude Code, Codex and Gemini), judged lexically by the pure judge and then on
 * disk, where a link inside the workspace may lead out of it.
 */

/** Tools that reach the web, by CLI: Claude Code, Gemini, Codex. */
const NETWORK_TOOLS = new Set(['WebFetch', 'WebSearch', 'web_fetch', 'google_web_search', 'web_search']);
const WRITE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'write_file', 'replace', 'edit', 'apply_patch', 'fileChange']);
const READ_TOOLS = new Set(['Read', 'Glob', 'Grep', 'LS', 'NotebookRead', 'read_file', 'read_many_files', 'list_directory', 'glob', 'search_file_content']);
/** Input keys that name the file or folder a tool works on. */
const PATH_INPUTS = ['file_path', 'notebook_path', 'path', 'absolute_path', 'dir_path'] as const;

/** The permission request as the judge sees it. */
export function policyAskOf(ask: PermissionAsk): PolicyAsk {
  if (ask.command !== undefined) return { kind: 'shell', tool: ask.tool, command: ask.command };
  if (NETWORK_TOOLS.has(ask.tool)) return { kind: 'network', tool: ask.tool };
  const paths = ask.files?.length ? ask.files : PATH_INPUTS.flatMap((key) => (typeof ask.input[key] === 'string' ? [ask.input[key]] : []));
  const access = ask.access ?? (WRITE_TOOLS.has(ask.tool) ? 'write' : READ_TOOLS.has(ask.tool) ? 'read' : undefined);
  if (access && paths.length) return { kind: access, tool: ask.tool, paths };
  return { kind: 'other', tool: ask.tool };
}

/** The real path of `target`: its nearest existing ancestor's links resolved, the rest as written. */
async function realPath(target: string): Promise<string> {
  const missing: string[] = [];
  let current = target;
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return target;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/** Judges a permission request: the pure judge on what the CLI wrote, then again on the paths with links resolved. */
export async function judgeOnDisk(policy: MergedPolicy, ask: PermissionAsk, workspaceDir: string): Promise<PolicyVerdict> {
  const judged = policyAskOf(ask);
  const lexical = judgePolicy(policy, judged, workspaceDir);
  if (lexical.verdict === 'deny' || (judged.kind !== 'read' && judged.kind !== 'write')) return lexical;
  const workspace = await realPath(workspaceDir);
  for (const target of judged.paths) {
    const resolved = await realPath(path.resolve(workspaceDir, target));
    if (judged.kind === 'write' && insideWorkspace(workspace, resolved) === undefined) {
      return { verdict: 'deny', rule: `paths: no writes outside the workspace (${target} leads to ${resolved})` };
    }
    const real = judgePolicy(policy, { ...judged, paths: [resolved] }, workspace);
    if (real.verdict === 'deny') return { verdict: 'deny', rule: `${real.rule} (${target} leads to ${resolved})` };
  }
  return lexical;
}

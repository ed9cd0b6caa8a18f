import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../activities/git.js';
import { repoRoot } from '../core/config/paths.js';
import type { RunView, SessionView } from '../core/contract/http.js';
import * as anthropic from './support/scripted-anthropic.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, uniqueTag } from './support/stack.js';
import { gitProject as initGitProject } from './support/git-project.js';

/**
 * Sessions carry the work forward: a resumed run works on the code its session's previous run
 * left, in the same worktree path, so what the conversation remembers and what is on disk agree.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

const gitProject = async (): Promise<string> => initGitProject(await fs.mkdtemp(path.join(stack.root, 'session-project-')), { 'word.txt': 'status: beta\n' });

/** A runner with a Claude Code profile on a fresh git project, against its own scripted endpoint. */
async function claudeRunner(turns: anthropic.Turn[], extraConfig: Record<string, unknown> = {}) {
  const endpoint = await anthropic.startScriptedAnthropic(turns);
  const projectDir = await gitProject();
  const home = await fs.mkdtemp(path.join(stack.root, 'session-home-'));
  await ownedByExecutor(home);
  const profiles = await fs.mkdtemp(path.join(stack.root, 'session-profiles-'));
  const env = { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home };
  const config = { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Read', 'Edit', 'Write'], env_passthrough: Object.keys(env).filter((name) => name !== 'HOME'), ...extraConfig };
  await fs.writeFile(path.join(profiles, 'session.json'), JSON.stringify({ type: 'claude-code', command: [path.join(repoRoot, 'node_modules', '.bin', 'claude')], config }));
  const tag = uniqueTag('session');
  await stack.startRunner({ profile: 'session', tags: [tag], projectDir, extraArgs: ['--profiles-dir', profiles], env });
  return { endpoint, projectDir, tag };
}

interface LeftResult {
  cost_usd?: number;
  usage?: { input_tokens: number; output_tokens: number; turns: number };
  last_output?: { text?: string; stdout_tail: string; stderr_tail: string };
}

describe('failed and stopped runs keep what happened', () => {
  it('a failed run shows its branch, its diff, its usage so far and its last output', async () => {
    const turns: anthropic.Turn[] = [];
    const { endpoint, projectDir, tag } = await claudeRunner(turns);
    try {
      const session = uniqueTag('failing');
      const file = path.join(projectDir, '.ao', 'worktrees', session, 'half.txt');
      turns.push(anthropic.callTool('Write', { file_path: file, content: 'half done\n' }), anthropic.apiError(529, 'overloaded_error', 'Overloaded', { shouldRetry: false }));
      const { body: failed } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'coder', prompt: 'write half', session_id: session, additional_demands: { tags: [tag] } } });
      expect(failed.status).toBe('failed');
      const { body: view } = await stack.api<RunView>('GET', `/runs/${failed.id}`);
      expect(view.workspace).toMatchObject({ branch: `ao/${failed.id}`, committed: true, diff: { files_changed: 1, files: [{ path: 'half.txt', added: 1, removed: 0 }] } });
      expect(await git(projectDir, ['show', `ao/${failed.id}:half.txt`])).toBe('half done\n');
      const left = view.result as LeftResult;
      // The one request that answered (the Write): the scripted endpoint's 100 tokens in.
      expect(left.usage?.input_tokens).toBeGreaterThanOrEqual(100);
      // The CLI's own cost of what it did before the API failed.
      expect(left.cost_usd).toBeGreaterThan(0);
      expect(left.last_output?.stdout_tail).toContain('Overloaded');
    } finally {
      await endpoint.close();
    }
  });

  it('a stopped run shows its branch, its diff, its usage so far and its last output', async () => {
    const turns: anthropic.Turn[] = [];
    const { endpoint, projectDir, tag } = await claudeRunner(turns);
    try {
      const session = uniqueTag('stopped');
      const file = path.join(projectDir, '.ao', 'worktrees', session, 'begun.txt');
      let release!: () => void;
      turns.push(anthropic.callTool('Write', { file_path: file, content: 'begun\n' }, { text: 'Writing the start.' }), { ...anthropic.reply('never sent'), until: new Promise<void>((resolve) => (release = resolve)) });
      const id = await stack.postRun({ agent: 'coder', prompt: 'begin', session_id: session, additional_demands: { tags: [tag] } });
      await endpoint.waitForMainRequest(2);
      const { body: stopped } = await stack.api<RunView>('POST', `/runs/${id}/stop?wait=true`);
      release();
      expect(stopped.status).toBe('stopped');
      const { body: view } = await stack.api<RunView>('GET', `/runs/${id}`);
      expect(view.workspace).toMatchObject({ branch: `ao/${id}`, committed: true, diff: { files_changed: 1, files: [{ path: 'begun.txt' }] } });
      expect(await git(projectDir, ['show', `ao/${id}:begun.txt`])).toBe('begun\n');
      const left = view.result as LeftResult;
      expect(left.usage).toMatchObject({ input_tokens: 100, turns: 1 });
      // Stopped before Claude's result line (its own cost): the call it made, priced by ao's table.
      expect(left.cost_usd).toBeGreaterThan(0);
      expect(left.last_output?.text).toBe('Writing the start.');
    } finally {
      await endpoint.close();
    }
  });
});

describe('a Claude Code session in worktree mode', () => {
  it('resumes on the previous run’s branch, in the same worktree path', async () => {
    const turns: anthropic.Turn[] = [];
    const endpoint = await anthropic.startScriptedAnthropic(turns);
    try {
      const projectDir = await gitProject();
      const home = await fs.mkdtemp(path.join(stack.root, 'session-home-'));
      await ownedByExecutor(home);
      const profiles = await fs.mkdtemp(path.join(stack.root, 'session-profiles-'));
      const env = { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home };
      const config = { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Read', 'Edit'], env_passthrough: Object.keys(env).filter((name) => name !== 'HOME') };
      await fs.writeFile(path.join(profiles, 'session.json'), JSON.stringify({ type: 'claude-code', command: [path.join(repoRoot, 'node_modules', '.bin', 'claude')], config }));
      const tag = uniqueTag('session');
      await stack.startRunner({ profile: 'session', tags: [tag], projectDir, extraArgs: ['--profiles-dir', profiles], env });

      const session = uniqueTag('carry');
      const worktree = path.join(projectDir, '.ao', 'worktrees', session);
      const file = path.join(worktree, 'word.txt');
      // Each run's model requests count apart, so the usage a run reports can be checked as its own.
      const inputTokens: Record<string, number> = { beta: 100, gamma: 1000 };
      const edit = (from: string, to: string): anthropic.Turn[] => [
        anthropic.callTool('Read', { file_path: file }, { usage: { input_tokens: inputTokens[from]!, output_tokens: 10 } }),
        anthropic.callTool('Edit', { file_path: file, old_string: `status: ${from}`, new_string: `status: ${to}` }, { usage: { input_tokens: inputTokens[from]!, output_tokens: 10 } }),
      ];
      const run = async (prompt: string, extra: Record<string, unknown>): Promise<RunView> =>
        (await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'coder', prompt, session_id: session, additional_demands: { tags: [tag] }, ...extra } })).body;

      turns.push(...edit('beta', 'gamma'), anthropic.reply('Now gamma.'));
      const first = await run('make it gamma', {});
      expect(first.status).toBe('completed');
      expect(first.workspace).toMatchObject({ dir: worktree, branch: `ao/${first.id}` });

      turns.push(...edit('gamma', 'delta'), anthropic.reply('Now delta.'));
      const second = await run('now make it delta', { mode: 'resume' });
      expect(second.status).toBe('completed');
      expect(second.executor_session_id).toBe(first.executor_session_id);
      // The same path as the first run's, on a branch of its own that starts where the first ended.
      expect(second.workspace).toMatchObject({ dir: worktree, branch: `ao/${second.id}`, base_commit: first.workspace!.head_commit });
      expect(second.workspace!.diff).toMatchObject({ files_changed: 1 });
      // Its own usage and cost, not the session's running total: two edit requests and the reply (100 in, 20 out by default).
      const usageOf = (view: RunView) => view.result as { cost_usd: number; usage: { input_tokens: number; output_tokens: number; turns: number; raw: { session_cost_usd: number } } };
      expect(usageOf(first).usage).toMatchObject({ input_tokens: 300, output_tokens: 40, turns: 3 });
      expect(usageOf(second).usage).toMatchObject({ input_tokens: 2100, output_tokens: 40, turns: 3 });
      // The CLI prices claude-sonnet-4-5 at 3 $ in and 15 $ out per million tokens.
      expect(usageOf(first).cost_usd).toBeCloseTo((300 * 3 + 40 * 15) / 1e6, 8);
      expect(usageOf(second).cost_usd).toBeCloseTo((2100 * 3 + 40 * 15) / 1e6, 8);
      expect(usageOf(second).usage.raw.session_cost_usd).toBeCloseTo(usageOf(first).cost_usd + usageOf(second).cost_usd, 8);
      // The session view: the chain of runs, oldest first, each with its branch, diff, status, usage and cost, and the total.
      const { status, body: view } = await stack.api<SessionView>('GET', `/sessions/${session}`);
      expect(status).toBe(200);
      expect(view.runs.map((one) => one.id)).toEqual([first.id, second.id]);
      expect(view.runs[1]).toMatchObject({
        status: 'completed',
        workspace: { branch: `ao/${second.id}`, base_commit: first.workspace!.head_commit, diff: { files_changed: 1, added: 1, removed: 1 } },
        usage: { input_tokens: 2100, output_tokens: 40, turns: 3 },
      });
      expect(view.runs[1]!.cost_usd).toBeCloseTo(usageOf(second).cost_usd, 8);
      expect(view.total).toMatchObject({ usage: { input_tokens: 2400, output_tokens: 80, turns: 6 }, unpriced_runs: 0 });
      expect(view.total.cost_usd).toBeCloseTo(usageOf(first).cost_usd + usageOf(second).cost_usd, 8);
      expect(await git(projectDir, ['show', `ao/${second.id}:word.txt`])).toBe('status: delta\n');
      expect(await git(projectDir, ['show', `ao/${first.id}:word.txt`])).toBe('status: gamma\n');
      // The CLI saw the file as its conversation remembered it: the edit went through, no tool error.
      const edited = anthropic.blocksOf(endpoint.mainRequests.at(-1)!, 'tool_result').at(-1)!;
      expect(edited.is_error).toBeUndefined();
      expect(String(edited.content)).toContain('has been updated successfully');
    } finally {
      await endpoint.close();
    }
  });
});

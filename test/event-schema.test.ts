import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEventInput, type RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import { repoRoot } from '../core/config/paths.js';
import * as anthropic from './support/scripted-anthropic.js';
import * as gemini from './support/scripted-gemini.js';
import * as openai from './support/scripted-openai.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { gitProject as initGitProject } from './support/git-project.js';

/**
 * One event schema: every event each real CLI's run produced matches its kind's schema, every
 * tool call has its result, files are reported once, relative, after the tool succeeded; and the
 * API refuses an event whose data does not match its kind.
 */

const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);

interface Kit {
  type: 'claude-code' | 'codex' | 'gemini';
  agent: string;
  /** A file written, a shell command, a reply; file paths are the workspace's. */
  turns(dir: string): unknown[];
  serve(turns: unknown[]): Promise<{ url: string; close(): Promise<void> }>;
  config(url: string): Record<string, unknown>;
  env(url: string, home: string): NodeJS.ProcessEnv;
}

const kits: Kit[] = [
  {
    type: 'claude-code',
    agent: 'coder',
    turns: (dir) => [anthropic.callTool('Write', { file_path: path.join(dir, 'notes.md'), content: 'one\n' }), anthropic.callTool('Bash', { command: 'echo built > build.log' }), anthropic.reply('Done.')],
    serve: (turns) => anthropic.startScriptedAnthropic(turns as anthropic.Turn[]),
    config: () => ({ permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', allowed_tools: ['Write', 'Bash(echo:*)'] }),
    env: (url, home) => ({ ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home }),
  },
  {
    type: 'codex',
    agent: 'codex-coder',
    turns: () => [openai.applyPatch('*** Begin Patch\n*** Add File: notes.md\n+one\n*** End Patch\n'), openai.runCommand('echo built > build.log'), openai.reply('Done.')],
    serve: (turns) => openai.startScriptedOpenAI(turns as openai.Turn[]),
    config: (url) => ({
      model: 'gpt-5.5',
      sandbox: 'workspace-write',
      provider: { name: 'local', base_url: `${url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY', request_max_retries: 0, stream_max_retries: 0 },
    }),
    env: (_url, home) => ({ OPENAI_API_KEY: 'test-key', HOME: home, CODEX_HOME: path.join(home, 'codex-home') }),
  },
  {
    type: 'gemini',
    agent: 'gemini-coder',
    turns: (dir) => [gemini.callTool('write_file', { file_path: path.join(dir, 'notes.md'), content: 'one\n' }), gemini.callTool('run_shell_command', { command: 'echo built > build.log' }), gemini.reply('Done.')],
    serve: (turns) => gemini.startScriptedGemini(turns as gemini.Turn[]),
    config: () => ({ model: 'gemini-2.5-pro', settings: { general: { maxAttempts: 1 } } }),
    env: (url, home) => ({ GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: url, HOME: home }),
  },
];

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

const gitProject = async (): Promise<string> => initGitProject(await fs.mkdtemp(path.join(stack.root, 'events-project-')), { 'README.md': 'project\n' });

const storedEvents = (id: string): Promise<RunEvent[]> =>
  eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
    return body.events;
  });

describe.each(kits)('a $type run in a git worktree', (kit) => {
  it('reports only events that match their kind’s schema, each tool call with its result, each file once', async () => {
    const turns: unknown[] = [];
    const endpoint = await kit.serve(turns);
    try {
      const projectDir = await gitProject();
      const scratch = await fs.mkdtemp(path.join(stack.root, `events-${kit.type}-`));
      const home = path.join(scratch, 'home');
      await fs.mkdir(path.join(home, 'codex-home'), { recursive: true });
      await ownedByExecutor(home);
      const env = kit.env(endpoint.url, home);
      const config = { ...kit.config(endpoint.url), env_passthrough: Object.keys(env).filter((name) => name !== 'HOME') };
      await fs.writeFile(path.join(scratch, 'events.json'), JSON.stringify({ type: kit.type, command: [bin(kit.type === 'claude-code' ? 'claude' : kit.type)], config }));
      const tag = uniqueTag(`events-${kit.type}`);
      await stack.startRunner({ profile: 'events', tags: [tag], projectDir, extraArgs: ['--profiles-dir', scratch], env });
      const session = uniqueTag('events');
      turns.push(...kit.turns(path.join(projectDir, '.ao', 'worktrees', session)));
      const { body: run } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: kit.agent, prompt: 'write notes and build', session_id: session, additional_demands: { tags: [tag] } } });
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      const events = await storedEvents(run.id);

      // Every event, as stored, is one the API's schema for its kind takes.
      for (const { id: _id, ...event } of events) {
        const parsed = RunEventInput.safeParse(event);
        expect(parsed.success, `${event.kind} ${JSON.stringify(event.data).slice(0, 300)}: ${parsed.error?.message}`).toBe(true);
      }
      const calls = events.filter((event) => event.kind === 'tool_call');
      const results = events.filter((event) => event.kind === 'tool_result');
      expect(calls.length).toBeGreaterThanOrEqual(2);
      for (const call of calls) {
        const result = results.find((candidate) => candidate.data.tool_use_id === call.data.id);
        expect(result, `no tool_result for ${String(call.data.name)}`).toBeDefined();
        // The model got something back from each tool, and the result says what.
        expect(String(result!.data.output).length, `empty output for ${String(call.data.name)}`).toBeGreaterThan(0);
        expect(result!.data.is_error).toBe(false);
      }
      const files = events.filter((event) => event.kind === 'file_touched').map((event) => event.data);
      expect(files.map((file) => file.path).sort()).toEqual(['build.log', 'notes.md']);
      expect(files.find((file) => file.path === 'notes.md')?.operation).toBe('write');
      expect(events.filter((event) => event.kind === 'session_started')).toHaveLength(1);
      expect(events.find((event) => event.kind === 'session_started')!.data.session_id).toBe(run.executor_session_id);
      // The CLI's own stderr chatter is marked, never passed off as the run's output.
      for (const chunk of events.filter((event) => event.kind === 'terminal_chunk' && /Reading additional input from stdin/.test(String(event.data.text)))) {
        expect(chunk.data.noise).toBe(true);
      }
    } finally {
      await endpoint.close();
    }
  });
});

describe('POST /internal/events', () => {
  const post = async (kind: string, data: Record<string, unknown>) => {
    const runId = await stack.assignedRun();
    const event = { run_id: runId, source: 'schema/1', seq: crypto.randomInt(1_000_000), kind, at: new Date().toISOString(), data };
    const response = await fetch(`${stack.apiUrl}/internal/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.runnerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event] }),
    });
    return { status: response.status, body: (await response.json()) as { error: string; details?: { problems?: string[] } } };
  };

  it.each([
    ['a file touched by an absolute path', 'file_touched', { path: '/etc/passwd', operation: 'write' }, 'events.0.data.path'],
    ['a file touched without its operation', 'file_touched', { path: 'a.txt' }, 'events.0.data.operation'],
    ['a file touched outside the workspace by ..', 'file_touched', { path: '../../etc/passwd', operation: 'edit' }, 'events.0.data.path'],
    ['a tool result without its error flag', 'tool_result', { tool_use_id: 't1', output: 'ok' }, 'events.0.data.is_error'],
    ['an alert of no known kind', 'alert', { kind: 'whatever', message: 'x' }, 'events.0.data.kind'],
    ['a usage tick with negative tokens', 'usage_tick', { scope: 'call', usage: { input_tokens: -1, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, turns: 1 } }, 'events.0.data.usage.input_tokens'],
    ['an unknown kind', 'telemetry', { text: 'x' }, 'events.0.kind'],
  ])('refuses %s with a 400 naming the field', async (_what, kind, data, field) => {
    const { status, body } = await post(kind, data);
    expect(status).toBe(400);
    expect(JSON.stringify(body.details?.problems ?? body)).toContain(field);
  });

  it('takes an event that matches its kind, and a truncated one of any kind', async () => {
    expect((await post('file_touched', { path: 'src/a.ts', operation: 'edit', tool: 'Edit' })).status).toBe(200);
    expect((await post('tool_result', { truncated: { bytes: 2_000_000, limit: 1_048_576 }, preview: '{"tool_use_id"' })).status).toBe(200);
  });
});

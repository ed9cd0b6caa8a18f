import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { geminiAdapter } from '../activities/executors/gemini.js';
import { repoRoot } from '../core/config/paths.js';
import type { GeminiConfig } from '../core/contract/executor-profile.js';
import { EXECUTOR_INVOCATION_SCHEMA_VERSION, type ExecutorInvocation } from '../core/contract/executor-protocol.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runAsPrefix } from '../activities/containment/executor-user.js';
import { openExecutorWrites } from '../activities/execution/executor-access.js';
import { cliHarness, exists, type JsonLine } from './support/cli-run.js';
import { executorUser, reachableByExecutor } from './support/executor-user.js';
import { declaredTools, reply, startScriptedGemini } from './support/scripted-gemini.js';

/**
 * Gemini's settings are per run: runs of different profiles share the executor user's gemini store
 * (its sessions live there), so a settings file there would be the last writer's, read by every run
 * that starts meanwhile. Each run has a home of its own with its settings, linked to the store.
 */

const harness = cliHarness();
const geminiBundle = path.join(repoRoot, 'node_modules', '@google', 'gemini-cli', 'bundle', 'gemini.js');
const model = 'gemini-2.5-pro';

const invocation = (project: string, settings: Record<string, unknown>): ExecutorInvocation<GeminiConfig> => ({
  schema_version: EXECUTOR_INVOCATION_SCHEMA_VERSION,
  run_id: crypto.randomUUID(),
  agent: { name: 'gemini-coder', type: 'coder' },
  prompt: 'hello',
  parameters: {},
  executor_type: 'gemini',
  executor_config: { model, settings: { general: { maxAttempts: 1 }, ...settings } },
  workspace_dir: project,
});

describe('gemini settings of one run', () => {
  it('refuses a run id that is not a plain name', async () => {
    const { project, home } = await harness.tempDirs('ao-gemini-settings-', ['project', 'home']);
    await expect(geminiAdapter.prepare!({ ...invocation(project, {}), run_id: '../../escape' }, { home })).rejects.toThrow(/cannot name a folder/);
    expect(await exists(path.join(home, '.cache', 'ao', 'escape'))).toBe(false);
  });

  it('two runs prepared together in one home each reach the real CLI with their own settings, and leave no file behind', async () => {
    const { project, home } = await harness.tempDirs('ao-gemini-settings-', ['project', 'home']);
    const withoutShell = invocation(project, { tools: { core: ['read_file', 'glob'] } });
    const plain = invocation(project, {});
    // Both prepared before either starts: with one settings file in the home, the first would read the second's.
    const prepared = await Promise.all([withoutShell, plain].map((run) => geminiAdapter.prepare!(run, { home })));
    expect(prepared[0]!.HOME).not.toBe(prepared[1]!.HOME);
    for (const env of prepared) {
      const dotGemini = path.join(env.HOME!, '.gemini');
      // Sticky and the runner's: an executor given the folder still cannot replace the settings in it.
      expect((await fs.stat(dotGemini)).mode & 0o1000).toBe(0o1000);
      expect((await fs.stat(path.join(dotGemini, 'settings.json'))).mode & 0o777).toBe(0o644);
      expect(await fs.realpath(path.join(dotGemini, 'tmp'))).toBe(await fs.realpath(path.join(home, '.cache', 'ao', 'gemini-home', '.gemini', 'tmp')));
    }

    const tools = await Promise.all(
      prepared.map(async (env) => {
        const endpoint = harness.closeAfter(await startScriptedGemini([reply('Hi.')]));
        const result = await harness.start<JsonLine>({
          name: 'gemini',
          command: process.execPath,
          args: [geminiBundle, '-p', 'hello', '--output-format', 'stream-json', '-m', model, '--yolo'],
          cwd: project,
          env: { ...env, GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url },
          ownGroup: true,
        }).finished;
        expect(result.code, result.stderr).toBe(0);
        return declaredTools(endpoint.mainRequests[0]!.body);
      }),
    );
    expect(tools[0]).not.toContain('run_shell_command');
    expect(tools[1]).toContain('run_shell_command');

    await Promise.all([withoutShell, plain].map((run) => geminiAdapter.release!(run, { home })));
    for (const env of prepared) expect(await exists(env.HOME!)).toBe(false);
    // What the runs kept for later (the project's session folder) is in the store.
    expect((await fs.readdir(path.join(home, '.cache', 'ao', 'gemini-home', '.gemini', 'tmp'))).length).toBeGreaterThan(0);
  });

  it('is the runner’s, hostile: the executor user, given the run’s home as a run is, cannot rewrite, replace or remove it, yet writes the store', async () => {
    const user = (await executorUser())!;
    expect(user, 'the tests run as root, with an executor user').toBeDefined();
    const { project, home } = await harness.tempDirs('ao-gemini-settings-', ['project', 'home']);
    await reachableByExecutor(home);
    const run = invocation(project, {});
    const { HOME: own } = await geminiAdapter.prepare!(run, { home });
    await openExecutorWrites(user, geminiAdapter.executorWrites!(run, { home }));
    const settings = path.join(own!, '.gemini', 'settings.json');
    const before = await fs.readFile(settings, 'utf8');
    const attempt = async (script: string): Promise<number> => {
      const [command, ...args] = [...runAsPrefix(user), 'sh', '-c', script];
      try {
        await promisify(execFile)(command, args, { env: { HOME: own, PATH: process.env.PATH } });
        return 0;
      } catch (error) {
        return (error as { code: number }).code;
      }
    };
    expect(await attempt('echo "{}" > "$HOME/.gemini/settings.json"')).not.toBe(0);
    expect(await attempt('mv "$HOME/.gemini/settings.json" "$HOME/.gemini/old.json"')).not.toBe(0);
    expect(await attempt('rm -f "$HOME/.gemini/settings.json"; test ! -e "$HOME/.gemini/settings.json"')).not.toBe(0);
    expect(await attempt('chmod 666 "$HOME/.gemini/settings.json"')).not.toBe(0);
    expect(await fs.readFile(settings, 'utf8')).toBe(before);
    // What gemini itself writes: its registry beside the settings, sessions in the store.
    expect(await attempt('echo "{}" > "$HOME/.gemini/projects.json" && mkdir -p "$HOME/.gemini/tmp/p/chats" && echo s > "$HOME/.gemini/tmp/p/chats/s.jsonl"')).toBe(0);
    expect(await exists(path.join(home, '.cache', 'ao', 'gemini-home', '.gemini', 'tmp', 'p', 'chats', 's.jsonl'))).toBe(true);
    await geminiAdapter.release!(run, { home });
    expect(await exists(own!)).toBe(false);
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../core/paths.js';
import { TestProcess } from './support/process.js';
import {
  apiError,
  callTool,
  contentsOf,
  declaredTools,
  gate,
  partsOf,
  reply,
  sideUsage,
  startScriptedGemini,
  type ScriptedGemini,
  type ScriptedGeminiOptions,
  type Turn,
} from './support/scripted-gemini.js';
import { testTime } from './support/time.js';

/** The CLI's bundled entry point, a node script: run with this node, not through a shell. */
const geminiBundle = path.join(repoRoot, 'node_modules', '@google', 'gemini-cli', 'bundle', 'gemini.js');
const model = 'gemini-2.5-pro';
/** Every CLI run is bounded: killed, and the test failed, past this. */
const runLimitMs = testTime(60_000);

type Line = Record<string, unknown> & { type: string; session_id?: string };

interface GeminiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The stream-json output, one parsed object per line. */
  lines: Line[];
  stderr: string;
}

interface Dirs {
  /** The CLI's working directory. */
  project: string;
  /** A fresh HOME: no user config leaks in, and the CLI keeps its settings and sessions under `.gemini` here. */
  home: string;
  /** For files the CLI should not see in its workspace (policy files). */
  outside: string;
}

type Workspace = Dirs & { endpoint: ScriptedGemini };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * API-key auth (else "Invalid auth method selected"), no folder trust (else YOLO is downgraded in an untrusted
 * folder), no usage statistics (else it tries to phone home), plus per-test settings.
 */
async function writeSettings(home: string, extra: { general?: Record<string, unknown>; model?: Record<string, unknown> } = {}): Promise<void> {
  const settings = {
    security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } },
    privacy: { usageStatisticsEnabled: false },
    ...extra,
  };
  await fs.mkdir(path.join(home, '.gemini'), { recursive: true });
  await fs.writeFile(path.join(home, '.gemini', 'settings.json'), JSON.stringify(settings, null, 2));
}

async function tempDirs(settings?: Parameters<typeof writeSettings>[1]): Promise<Dirs> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-gemini-'));
  cleanups.push(() => fs.rm(root, { recursive: true, force: true }));
  const dirs = { project: path.join(root, 'project'), home: path.join(root, 'home'), outside: root };
  await Promise.all([fs.mkdir(dirs.project), fs.mkdir(dirs.home)]);
  await writeSettings(dirs.home, settings);
  return dirs;
}

async function serve(script: Turn[], options?: ScriptedGeminiOptions): Promise<ScriptedGemini> {
  const endpoint = await startScriptedGemini(script, options);
  cleanups.push(() => endpoint.close());
  return endpoint;
}

/**
 * Signals the CLI's whole process group. The CLI relaunches itself as a child node process (to raise its heap
 * limit) and the parent ignores SIGTERM/SIGINT, so signalling the parent alone stops nothing, and killing it
 * alone orphans the child that does the work.
 */
function signalGroup(proc: TestProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts the real CLI; `finished` resolves once it has exited, and rejects if it outlives `runLimitMs`. */
function startGemini(ws: Workspace, prompt: string, args: string[] = ['--yolo']): { process: TestProcess; finished: Promise<GeminiRun> } {
  const child = spawn(process.execPath, [geminiBundle, '-p', prompt, '--output-format', 'stream-json', '-m', model, ...args], {
    cwd: ws.project,
    // Only what the CLI needs: nothing from the outer environment (a GEMINI_* or GOOGLE_* there) leaks in.
    env: { PATH: process.env.PATH, HOME: ws.home, GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: ws.endpoint.url },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so the relaunched child can be signalled and killed with it.
    detached: true,
  });
  const proc = new TestProcess('gemini', child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  cleanups.push(async () => {
    signalGroup(proc, 'SIGKILL');
    await proc.exited;
  });
  const finished = (async () => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(proc, 'SIGKILL');
    }, runLimitMs);
    const { code, signal } = await proc.exited;
    clearTimeout(timer);
    // On an API error the CLI writes a report to os.tmpdir(), outside the test's directories: remove it by name.
    for (const [, report] of stderr.matchAll(/Full report available at: (\S+\.json)/g)) cleanups.push(() => fs.rm(report!, { force: true }));
    if (timedOut) throw new Error(`gemini did not finish within ${runLimitMs} ms:\n${stdout}\n${stderr}`);
    const lines = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Line);
    return { code, signal, lines, stderr };
  })();
  return { process: proc, finished };
}

const runGemini = (ws: Workspace, prompt: string, args?: string[]): Promise<GeminiRun> => startGemini(ws, prompt, args).finished;

const linesOf = (run: GeminiRun, type: string): Line[] => run.lines.filter((l) => l.type === type);

const lineOf = (run: GeminiRun, type: string): Line => {
  const line = run.lines.find((l) => l.type === type);
  if (!line) throw new Error(`no ${type} line in:\n${run.lines.map((l) => JSON.stringify(l)).join('\n')}\n${run.stderr}`);
  return line;
};

/** The text of what went back to the model for each function call, from a main request. */
const functionResponses = (request: Parameters<typeof partsOf>[0]): { name: string; response: Record<string, unknown> }[] =>
  partsOf(request, 'functionResponse').map((p) => ({ name: p.functionResponse!.name, response: p.functionResponse!.response }));

const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

describe('the real gemini CLI against the scripted endpoint', () => {
  it('writes a file with write_file and reports the session, tool use and usage', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'hello.txt');
    const endpoint = await serve([
      callTool('write_file', { file_path: target, content: 'hello from the script\n' }, { usage: { promptTokenCount: 1000, candidatesTokenCount: 50 } }),
      reply('Wrote hello.txt.', { usage: { promptTokenCount: 1200, candidatesTokenCount: 30, cachedContentTokenCount: 200 } }),
    ]);
    const run = await runGemini({ ...dirs, endpoint }, 'Write hello.txt');

    expect(run.code).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('hello from the script\n');
    expect(run.lines.map((l) => l.type)).toEqual(['init', 'message', 'tool_use', 'tool_result', 'message', 'result']);
    // Its state stays under HOME: the project holds only what the tool wrote.
    expect(await fs.readdir(dirs.project)).toEqual(['hello.txt']);

    const init = lineOf(run, 'init');
    expect(init).toMatchObject({ model });
    expect(init.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const [prompt, answer] = linesOf(run, 'message');
    expect(prompt).toMatchObject({ role: 'user', content: 'Write hello.txt' });
    expect(answer).toMatchObject({ role: 'assistant', content: 'Wrote hello.txt.', delta: true });

    const toolUse = lineOf(run, 'tool_use');
    expect(toolUse).toMatchObject({ tool_name: 'write_file', parameters: { file_path: target, content: 'hello from the script\n' } });
    expect(lineOf(run, 'tool_result')).toEqual(expect.objectContaining({ tool_id: toolUse.tool_id, status: 'success' }));

    // Usage is summed over the two scripted turns; `cached` is counted inside input_tokens, and `input` is the uncached rest.
    const result = lineOf(run, 'result');
    expect(result).toMatchObject({ status: 'success' });
    expect(result.session_id).toBeUndefined();
    const perModel = { total_tokens: 2280, input_tokens: 2200, output_tokens: 80, cached: 200, input: 2000 };
    expect(result.stats).toMatchObject({ ...perModel, tool_calls: 1, models: { [model]: perModel } });

    // The endpoint saw the conversation: the API key and the tools, then the function response coming back.
    expect(endpoint.mainRequests).toHaveLength(2);
    expect(endpoint.requests.filter((r) => r.kind === 'side')).toEqual([]);
    const [first, second] = endpoint.mainRequests;
    expect(first).toMatchObject({ method: 'POST', path: `/v1beta/models/${model}:streamGenerateContent?alt=sse`, model, headers: { 'x-goog-api-key': 'test-key' } });
    expect(declaredTools(first!.body)).toEqual(expect.arrayContaining(['write_file', 'replace', 'run_shell_command', 'read_file']));
    expect(partsOf(first!, 'text').map((p) => p.text)).toContain('Write hello.txt');
    const calls = partsOf(second!, 'functionCall').map((p) => p.functionCall);
    expect(calls).toEqual([expect.objectContaining({ name: 'write_file', args: { file_path: target, content: 'hello from the script\n' } })]);
    // The stream-json tool_id is `<name>__<functionCall id>`, the id the CLI made up as the API sent none.
    expect(toolUse.tool_id).toBe(`write_file__${calls[0]!.id}`);
    const [returned] = functionResponses(second!);
    expect(returned).toMatchObject({ name: 'write_file' });
    expect(returned!.response.output).toContain(`Successfully created and wrote to new file: ${target}`);
  });

  it('prints streamed text as assistant deltas, keeps thoughts out, and counts a multi-chunk turn once', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'a.txt');
    const endpoint = await serve([
      {
        thought: 'The user wants a file.',
        text: 'Writing a.txt.',
        calls: [{ name: 'write_file', args: { file_path: target, content: 'a\n' }, id: 'call-from-the-api' }],
        usage: { promptTokenCount: 500, candidatesTokenCount: 40, thoughtsTokenCount: 10 },
      },
      reply('Done.'),
    ]);
    const run = await runGemini({ ...dirs, endpoint }, 'Write a.txt');

    expect(run.code).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('a\n');
    expect(linesOf(run, 'message').map((l) => [l.role, l.content])).toEqual([
      ['user', 'Write a.txt'],
      ['assistant', 'Writing a.txt.'],
      ['assistant', 'Done.'],
    ]);
    // The API's functionCall id is kept.
    expect(lineOf(run, 'tool_use').tool_id).toBe('write_file__call-from-the-api');
    // The thought is neither printed nor sent back: the history holds the text and the call.
    expect(run.lines.some((l) => JSON.stringify(l).includes('The user wants a file.'))).toBe(false);
    const [, answered] = contentsOf(endpoint.mainRequests[1]!);
    expect(answered).toMatchObject({ role: 'model', parts: [{ text: 'Writing a.txt.' }, { functionCall: { id: 'call-from-the-api', name: 'write_file' } }] });
    // Usage is the last usageMetadata of each turn (repeated on every chunk), not a sum over chunks; thoughtsTokenCount is left out.
    expect(lineOf(run, 'result').stats).toMatchObject({ input_tokens: 600, output_tokens: 60, total_tokens: 660 });
  });

  it('edits a file with replace after reading it with read_file', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'config.txt');
    await fs.writeFile(target, 'colour = red\nsize = 3\n');
    const endpoint = await serve([
      // replace does not insist on an earlier read_file (unlike Claude's Edit); the read shows what the model sees.
      callTool('read_file', { file_path: target }),
      callTool('replace', { file_path: target, instruction: 'Make the colour blue', old_string: 'colour = red', new_string: 'colour = blue' }),
      reply('Changed the colour.'),
    ]);
    const run = await runGemini({ ...dirs, endpoint }, 'Make it blue');

    expect(run.code).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('colour = blue\nsize = 3\n');
    expect(linesOf(run, 'tool_use').map((l) => l.tool_name)).toEqual(['read_file', 'replace']);
    expect(linesOf(run, 'tool_result').map((l) => l.status)).toEqual(['success', 'success']);
    expect(endpoint.mainRequests).toHaveLength(3);
    expect(functionResponses(endpoint.mainRequests[1]!)).toEqual([{ name: 'read_file', response: { output: 'colour = red\nsize = 3\n' } }]);
    const edited = functionResponses(endpoint.mainRequests[2]!).at(-1)!;
    expect(edited.name).toBe('replace');
    expect(edited.response.output).toContain(`Successfully modified file: ${target} (1 replacements)`);
    expect(lineOf(run, 'result')).toMatchObject({ status: 'success', stats: { tool_calls: 2 } });
  });

  it('runs a shell command with run_shell_command, reporting its output but not its exit code', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([callTool('run_shell_command', { command: 'echo hi > out.txt && echo wrote && pwd && exit 3', description: 'Write out.txt' }), reply('Ran it.')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Run the command');

    expect(run.code).toBe(0);
    expect(await fs.readFile(path.join(dirs.project, 'out.txt'), 'utf8')).toBe('hi\n');
    expect(lineOf(run, 'tool_use')).toMatchObject({ tool_name: 'run_shell_command', parameters: { command: 'echo hi > out.txt && echo wrote && pwd && exit 3' } });
    // A failing command is still a `success` tool result; only the model is told the exit code.
    expect(lineOf(run, 'tool_result')).toMatchObject({ status: 'success', output: `wrote\n${dirs.project}` });
    const [returned] = functionResponses(endpoint.mainRequests[1]!);
    expect(returned!.response.output).toContain(`Output: wrote\n${dirs.project}\nExit Code: 3`);
    expect(lineOf(run, 'result')).toMatchObject({ status: 'success', stats: { tool_calls: 1 } });
  });

  it('withholds the write and shell tools without --yolo, so a call to one fails as an unregistered tool', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([callTool('run_shell_command', { command: 'echo hi > out.txt' }), reply('No shell here.')]);
    // Non-interactive and the default approval mode: nobody could approve, so nothing that needs approval is offered.
    const run = await runGemini({ ...dirs, endpoint }, 'Run the command', []);

    expect(run.code).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    const offered = declaredTools(endpoint.mainRequests[0]!.body);
    expect(offered).toEqual(expect.arrayContaining(['read_file', 'glob', 'grep_search', 'list_directory']));
    for (const tool of ['write_file', 'replace', 'run_shell_command']) expect(offered).not.toContain(tool);
    const toolResult = lineOf(run, 'tool_result');
    expect(toolResult).toMatchObject({ status: 'error', error: { type: 'tool_not_registered' } });
    expect(toolResult.output).toMatch(/^Tool "run_shell_command" not found/);
    expect(functionResponses(endpoint.mainRequests[1]!)[0]!.response.error).toMatch(/^Tool "run_shell_command" not found/);
    expect(lineOf(run, 'result')).toMatchObject({ status: 'success' });
  });

  it('refuses a shell command a --policy deny rule matches, even under --yolo', async () => {
    const dirs = await tempDirs();
    const policy = path.join(dirs.outside, 'deny-echo.toml');
    await fs.writeFile(
      policy,
      ['[[rule]]', 'toolName = "run_shell_command"', 'commandPrefix = "echo"', 'decision = "deny"', 'priority = 500', 'denyMessage = "echo is not allowed here"', ''].join('\n'),
    );
    const endpoint = await serve([callTool('run_shell_command', { command: 'echo hi > out.txt' }), reply('It was refused.')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Run the command', ['--yolo', '--policy', policy]);

    expect(run.code).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    // The tool is still offered; the call is refused when made.
    expect(declaredTools(endpoint.mainRequests[0]!.body)).toContain('run_shell_command');
    const denial = 'Tool execution denied by policy. echo is not allowed here';
    expect(lineOf(run, 'tool_result')).toMatchObject({ status: 'error', output: denial, error: { type: 'policy_violation', message: denial } });
    expect(functionResponses(endpoint.mainRequests[1]!)).toEqual([{ name: 'run_shell_command', response: { error: denial } }]);
    expect(lineOf(run, 'result')).toMatchObject({ status: 'success' });
  });

  it('blocks a shell command with $(( )) as command substitution, even under --yolo, yet reports success', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([callTool('run_shell_command', { command: 'echo $((40 + 2)) > out.txt' }), reply('Blocked.')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Run the command');

    expect(run.code).toBe(0);
    expect(await exists(path.join(dirs.project, 'out.txt'))).toBe(false);
    expect(lineOf(run, 'tool_result')).toMatchObject({ status: 'success', output: 'Blocked: command substitution detected in shell command.' });
    expect(functionResponses(endpoint.mainRequests[1]!)[0]!.response.output).toMatch(/^Command injection detected: command substitution syntax/);
  });

  it('sends the earlier conversation when a session is resumed by id', async () => {
    const dirs = await tempDirs();
    const target = path.join(dirs.project, 'notes.txt');
    const endpoint = await serve([callTool('write_file', { file_path: target, content: 'first\n' }), reply('First run done.'), reply('Second run done.')]);
    const first = await runGemini({ ...dirs, endpoint }, 'Start the notes');
    expect(first.code).toBe(0);
    const sessionId = lineOf(first, 'init').session_id!;

    const second = await runGemini({ ...dirs, endpoint }, 'Carry on with the notes', ['--yolo', '--resume', sessionId]);
    expect(second.code).toBe(0);
    expect(lineOf(second, 'init')).toMatchObject({ session_id: sessionId });
    // Only the new turn is printed, not the replayed history.
    expect(linesOf(second, 'message').map((l) => l.content)).toEqual(['Carry on with the notes', 'Second run done.']);
    expect(lineOf(second, 'result')).toMatchObject({ status: 'success', stats: { tool_calls: 0, input_tokens: 100 } });

    expect(endpoint.mainRequests).toHaveLength(3);
    const resumed = endpoint.mainRequests[2]!;
    expect(contentsOf(resumed).map((c) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
    const texts = partsOf(resumed, 'text').map((p) => p.text);
    expect(texts).toEqual(expect.arrayContaining(['Start the notes', 'First run done.', 'Carry on with the notes']));
    expect(partsOf(resumed, 'functionCall').map((p) => p.functionCall)).toEqual([expect.objectContaining({ name: 'write_file', args: { file_path: target, content: 'first\n' } })]);
    // 0.61.0 replays the function response twice in the resumed history; at least one must be there.
    expect(functionResponses(resumed).length).toBeGreaterThanOrEqual(1);
    for (const r of functionResponses(resumed)) expect(r.name).toBe('write_file');
    // Sessions live under HOME, keyed by the project folder's name.
    const chats = await fs.readdir(path.join(dirs.home, '.gemini', 'tmp', 'project', 'chats'));
    expect(chats).toEqual([expect.stringMatching(new RegExp(`^session-.*-${sessionId.slice(0, 8)}\\.jsonl$`))]);
  });

  it('resumes the latest session with --resume latest, and refuses an unknown session id before starting', async () => {
    const dirs = await tempDirs();
    const endpoint = await serve([reply('One.'), reply('Two.')]);
    const first = await runGemini({ ...dirs, endpoint }, 'First');
    const sessionId = lineOf(first, 'init').session_id!;
    const latest = await runGemini({ ...dirs, endpoint }, 'Second', ['--yolo', '--resume', 'latest']);
    expect(latest.code).toBe(0);
    expect(lineOf(latest, 'init')).toMatchObject({ session_id: sessionId });
    expect(partsOf(endpoint.mainRequests[1]!, 'text').map((p) => p.text)).toEqual(expect.arrayContaining(['First', 'One.', 'Second']));

    const unknown = await runGemini({ ...dirs, endpoint }, 'Third', ['--yolo', '--resume', '00000000-0000-4000-8000-000000000000']);
    // FATAL_INPUT_ERROR, no stream-json at all, and no request.
    expect(unknown.code).toBe(42);
    expect(unknown.lines).toEqual([]);
    expect(unknown.stderr).toContain('Error resuming session: Invalid session identifier "00000000-0000-4000-8000-000000000000".');
    expect(endpoint.mainRequests).toHaveLength(2);
  });

  it('ends with an error result naming the cause, and the status as exit code, when the API fails', async () => {
    // One attempt: the CLI would otherwise retry a 500 nine times with a 5-30 s backoff.
    const dirs = await tempDirs({ general: { maxAttempts: 1 } });
    const endpoint = await serve([apiError(500, 'INTERNAL', 'Internal error encountered.')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Do something');

    // process.exit(500): the exit status is the HTTP status modulo 256.
    expect(run.code).toBe(500 % 256);
    expect(endpoint.mainRequests).toHaveLength(1);
    expect(run.lines.map((l) => l.type)).toEqual(['init', 'message', 'result']);
    const result = lineOf(run, 'result');
    expect(result).toMatchObject({ status: 'error', error: { type: 'unknown' }, stats: { total_tokens: 0, tool_calls: 0 } });
    expect((result.error as { message: string }).message).toBe('[API Error: {"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}]');
    expect(run.stderr).toMatch(/Error when talking to Gemini API Full report available at: \S+gemini-client-error-Turn\.run-sendMessageStream-\S+\.json/);
  });

  it('ends a rate-limited run with the quota message and a hint', async () => {
    const dirs = await tempDirs({ general: { maxAttempts: 1 } });
    const endpoint = await serve([apiError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Do something');

    expect(run.code).toBe(429 % 256);
    const result = lineOf(run, 'result');
    expect(result).toMatchObject({ status: 'error' });
    expect((result.error as { message: string }).message).toMatch(/^\[API Error: Resource has been exhausted \(e\.g\. check quota\)\.\]\nPlease wait and try again later\./);
  });

  it('retries an unavailable API once and then carries on', async () => {
    const dirs = await tempDirs({ general: { maxAttempts: 2 } });
    const endpoint = await serve([apiError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'), reply('Made it.')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Do something');

    expect(run.code).toBe(0);
    expect(endpoint.mainRequests.map((r) => r.turn)).toEqual([0, 1]);
    // The retry is silent in stream-json: only stderr mentions it.
    expect(run.lines.map((l) => l.type)).toEqual(['init', 'message', 'message', 'result']);
    expect(run.stderr).toContain('Attempt 1 failed with status 503. Retrying with backoff...');
    expect(lineOf(run, 'result')).toMatchObject({ status: 'success', stats: { input_tokens: 100 } });
  });

  it('answers its side requests without consuming the script', async () => {
    // The next-speaker check is off by default; on, it asks a flash model, without tools, for JSON after a text reply.
    const dirs = await tempDirs({ model: { skipNextSpeakerCheck: false } });
    const endpoint = await serve([reply('Hello there.')]);
    const run = await runGemini({ ...dirs, endpoint }, 'Say hi');

    expect(run.code).toBe(0);
    expect(endpoint.mainRequests).toHaveLength(1);
    const side = endpoint.requests.filter((r) => r.kind === 'side');
    expect(side).toHaveLength(1);
    expect(side[0]).toMatchObject({ method: 'POST', path: expect.stringMatching(/^\/v1beta\/models\/[^/]+:generateContent$/) as unknown });
    expect(declaredTools(side[0]!.body)).toEqual([]);
    expect(side[0]!.body).toMatchObject({ generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { required: ['reasoning', 'next_speaker'] } } });
    // The side model's usage is counted, under its own name.
    const stats = lineOf(run, 'result').stats as { input_tokens: number; models: Record<string, { input_tokens: number }> };
    expect(stats.input_tokens).toBe(100 + sideUsage.promptTokenCount);
    expect(stats.models[side[0]!.model!]).toMatchObject({ input_tokens: sideUsage.promptTokenCount });
  });

  it('can be stopped while a turn is held open', async () => {
    const held = gate();
    const dirs = await tempDirs();
    const endpoint = await serve([reply('Too late.', { until: held.promise })]);
    cleanups.push(() => Promise.resolve(held.release()));
    const { process: gemini, finished } = startGemini({ ...dirs, endpoint }, 'Take your time');
    const asked = await Promise.race([endpoint.waitForMainRequest(1).then(() => true), finished.then(() => false)]);
    expect(asked, 'gemini exited before asking for its first turn').toBe(true);
    expect(gemini.running).toBe(true);
    signalGroup(gemini, 'SIGTERM');
    const run = await finished;
    // It exits cleanly (SIGINT alike), mid-turn: an init and the prompt, and no result line. Only the missing
    // result tells a stopped run from a finished one.
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect(run.lines.map((l) => l.type)).toEqual(['init', 'message']);
    expect(endpoint.mainRequests).toHaveLength(1);
  });
});

describe('the scripted endpoint', () => {
  const generate = (url: string, body: object, method = 'streamGenerateContent?alt=sse'): Promise<Response> =>
    fetch(`${url}/v1beta/models/${model}:${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const main = {
    contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
    tools: [{ functionDeclarations: [{ name: 'write_file' }, { name: 'run_shell_command' }] }],
  };

  it('answers side requests harmlessly without consuming the script, then runs out with a 400', async () => {
    const endpoint = await serve([reply('The scripted answer.')]);
    expect(await (await fetch(`${endpoint.url}/v1beta/models`)).json()).toEqual({ models: [] });
    const counted = await fetch(`${endpoint.url}/v1beta/models/${model}:countTokens`, { method: 'POST', body: JSON.stringify(main) });
    expect(await counted.json()).toEqual({ totalTokens: 100 });
    const schema = { type: 'OBJECT', properties: { next_speaker: { type: 'STRING', enum: ['user', 'model'] }, confidence: { type: 'NUMBER' } } };
    const check = await generate(endpoint.url, { contents: main.contents, generationConfig: { responseMimeType: 'application/json', responseSchema: schema } }, 'generateContent');
    const checked = (await check.json()) as { candidates: { content: { parts: { text: string }[] } }[] };
    expect(JSON.parse(checked.candidates[0]!.content.parts[0]!.text)).toEqual({ next_speaker: 'user', confidence: 0 });

    const answer = await generate(endpoint.url, main, 'generateContent');
    expect(await answer.json()).toMatchObject({
      candidates: [{ content: { role: 'model', parts: [{ text: 'The scripted answer.' }] }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, totalTokenCount: 120 },
    });
    const exhausted = await generate(endpoint.url, main);
    expect(exhausted.status).toBe(400);
    expect(await exhausted.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });

    expect(endpoint.requests.map((r) => `${r.kind} ${r.method} ${r.path.split('?')[0]}`)).toEqual([
      'side GET /v1beta/models',
      `side POST /v1beta/models/${model}:countTokens`,
      `side POST /v1beta/models/${model}:generateContent`,
      `main POST /v1beta/models/${model}:generateContent`,
      `main POST /v1beta/models/${model}:streamGenerateContent`,
    ]);
  });

  it('streams thoughts, text and function calls as server-sent events, and errors as Google error JSON', async () => {
    const endpoint = await serve([
      { thought: 'Thinking.', text: 'Writing it.', calls: [{ name: 'write_file', args: { file_path: 'a.txt', content: 'x' }, id: 'call_1' }], usage: { candidatesTokenCount: 7 } },
      apiError(429, 'RESOURCE_EXHAUSTED', 'Slow down.', { times: 2 }),
      reply('After the errors.'),
    ]);
    const response = await generate(endpoint.url, main);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const chunks = (await response.text())
      .split('\r\n\r\n')
      .filter((chunk) => chunk !== '')
      .map((chunk) => JSON.parse(/^data: (.+)$/.exec(chunk)![1]!) as { candidates: { content: { parts: unknown[] }; finishReason?: string }[]; usageMetadata: unknown });
    expect(chunks.map((c) => c.candidates[0]!.content.parts)).toEqual([
      [{ text: 'Thinking.', thought: true }],
      [{ text: 'Writing it.' }],
      [{ functionCall: { name: 'write_file', args: { file_path: 'a.txt', content: 'x' }, id: 'call_1' } }],
    ]);
    expect(chunks.map((c) => c.candidates[0]!.finishReason)).toEqual([undefined, undefined, 'STOP']);
    expect(chunks.at(-1)!.usageMetadata).toEqual({ promptTokenCount: 100, candidatesTokenCount: 7, totalTokenCount: 107 });

    for (let i = 0; i < 2; i++) {
      const failed = await generate(endpoint.url, main);
      expect(failed.status).toBe(429);
      expect(await failed.json()).toEqual({ error: { code: 429, message: 'Slow down.', status: 'RESOURCE_EXHAUSTED' } });
    }
    expect(await (await generate(endpoint.url, main)).text()).toContain('After the errors.');
    expect(endpoint.mainRequests.map((r) => r.turn)).toEqual([0, 1, 1, 2]);
  });
});

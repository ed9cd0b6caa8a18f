import fs from 'node:fs/promises';
import path from 'node:path';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunCredentials } from '../api/run-credentials.js';
import { OPENAPI_PATH, type OpenApiDocument } from '../api/openapi.js';
import { repoRoot } from '../core/config/paths.js';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import { MCP_PATH } from '../core/contract/mcp.js';
import { isFinalRunStatus } from '../core/contract/run-status.js';
import { runWorkflowId } from '../workflows/messages.js';
import { runGate } from './support/gates.js';
import { gitProject } from './support/git-project.js';
import { blocksOf, callTool, gate, reply, startScriptedAnthropic, type ScriptedAnthropic, type Turn } from './support/scripted-anthropic.js';
import * as gemini from './support/scripted-gemini.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

/**
 * ao's MCP server for the agents of its runs: the real claude CLI (against the scripted Anthropic
 * endpoint) starts a child echo run through `mcp__ao__start_run`, waits for it with
 * `mcp__ao__wait_for_run` and answers with its result; the real gemini CLI does the same through
 * `mcp_ao_start_run` and `mcp_ao_wait_for_run`; and the run's credential, hostile: refused on
 * every other route, on other runs, for agents its agent may not start, and once its run has ended.
 */

const claude = path.join(repoRoot, 'node_modules', '.bin', 'claude');
let stack: TestStack;
let endpoint: ScriptedAnthropic;
let geminiEndpoint: gemini.ScriptedGemini;
const geminiScript: gemini.Turn[] = [];
let claudeTag: string;
let geminiTag: string;
let echoTag: string;
let credentials: RunCredentials;
const script: Turn[] = [];
const started: string[] = [];
const CHILD_MESSAGE = 'hello from the child run';

beforeAll(async () => {
  stack = await TestStack.create();
  // The API made its run-credential secret in the data dir at start; the test, as its admin, derives credentials with it.
  credentials = RunCredentials.inDataDir(path.join(stack.root, 'data'));
  endpoint = await startScriptedAnthropic(script);
  const profilesDir = await fs.mkdtemp(path.join(stack.root, 'profiles-'));
  const CLAUDE_ENV = ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'];
  await fs.writeFile(
    path.join(profilesDir, 'claude-mcp.json'),
    JSON.stringify({ type: 'claude-code', command: [claude], config: { permission_mode: 'acceptEdits', model: 'claude-sonnet-4-5', env_passthrough: CLAUDE_ENV } }),
  );
  claudeTag = uniqueTag('mcp-claude');
  await stack.startRunner({
    profile: 'claude-mcp',
    tags: [claudeTag],
    extraArgs: ['--profiles-dir', profilesDir],
    env: { ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: await fs.mkdtemp(path.join(stack.root, 'home-')) },
  });
  geminiEndpoint = await gemini.startScriptedGemini(geminiScript);
  await fs.writeFile(
    path.join(profilesDir, 'gemini-mcp.json'),
    JSON.stringify({
      type: 'gemini',
      command: [path.join(repoRoot, 'node_modules', '.bin', 'gemini')],
      config: { model: 'gemini-2.5-pro', settings: { general: { maxAttempts: 1 } }, env_passthrough: ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL'] },
    }),
  );
  geminiTag = uniqueTag('mcp-gemini');
  await stack.startRunner({
    profile: 'gemini-mcp',
    tags: [geminiTag],
    extraArgs: ['--profiles-dir', profilesDir],
    env: { GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: geminiEndpoint.url, HOME: await fs.mkdtemp(path.join(stack.root, 'home-')) },
  });
  echoTag = uniqueTag('mcp-echo');
  // A git project: each held echo run in a worktree of its own, not queued for the project folder.
  await stack.startRunner({ tags: [echoTag], capacity: 4, projectDir: await gitProject(await fs.mkdtemp(path.join(stack.root, 'echo-project-'))) });
  const foreman = await stack.api('POST', '/agents', {
    body: { name: 'foreman', description: 'starts echo children', type: 'autonomous', demands: { executor_type: 'claude-code', tags: [] }, may_start: ['echo'] },
  });
  expect(foreman.status).toBe(201);
  const geminiForeman = await stack.api('POST', '/agents', {
    body: { name: 'gemini-foreman', description: 'starts echo children', type: 'autonomous', demands: { executor_type: 'gemini', tags: [] }, may_start: ['echo'] },
  });
  expect(geminiForeman.status).toBe(201);
});
afterEach(async () => {
  for (const id of started.splice(0)) {
    const { body } = await stack.api<RunView>('GET', `/runs/${id}`);
    if (!isFinalRunStatus(body.status)) await stack.api('POST', `/runs/${id}/stop?wait=true`, { body: { graceful: false } });
  }
});
afterAll(async () => {
  await endpoint?.close();
  await geminiEndpoint?.close();
  await stack?.stop();
});

/** An MCP client of ao's server with `token` as its bearer credential. */
async function mcpClient(token: string): Promise<McpClient> {
  const client = new McpClient({ name: 'ao-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.apiUrl}${MCP_PATH}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}
const textOf = (result: Awaited<ReturnType<McpClient['callTool']>>): string => (result.content as Array<{ text?: string }>).map((part) => part.text ?? '').join('');

/** A live echo run held at a gate, and its credential. */
async function heldRun(): Promise<{ id: string; token: string; open: () => Promise<void> }> {
  const held = await runGate(stack.root);
  const id = await stack.postRun({ agent: 'echo', parameters: held.parameters, additional_demands: { tags: [echoTag] } });
  started.push(id);
  await stack.waitForRun(id, (run) => run.status === 'running');
  return { id, token: credentials.tokenFor(id), open: () => held.open() };
}

describe('an agent CLI run', () => {
  it('claude: starts a child echo run through ao’s MCP server, waits for it and answers with its result', async () => {
    const waitTurn = gate();
    const wait = callTool('mcp__ao__wait_for_run', { run_id: 'set-below', timeout_seconds: 120 }, { until: waitTurn.promise });
    script.push(callTool('mcp__ao__start_run', { agent: 'echo', parameters: { message: CHILD_MESSAGE } }), wait, reply(`The child answered: ${CHILD_MESSAGE}`));
    const id = await stack.postRun({ agent: 'foreman', prompt: 'start an echo child and tell me what it said', additional_demands: { tags: [claudeTag] } });
    started.push(id);

    // The child's id is known once the CLI's start_run has reached ao: the scripted wait then names it.
    const { children } = await stack.waitForRun(id, (run) => (run.children?.length ?? 0) > 0);
    const childId = children![0]!.run_id;
    (wait.tools![0]!.input as { run_id: string }).run_id = childId;
    waitTurn.release();

    const run = await stack.waitForRun(id, undefined, 120_000);
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ text: `The child answered: ${CHILD_MESSAGE}` });
    // What the CLI got back from wait_for_run, in the conversation it sent the model: the child's own result.
    const waitResult = blocksOf(endpoint.mainRequests.at(-1)!, 'tool_result').at(-1);
    expect(JSON.stringify(waitResult)).toContain(CHILD_MESSAGE);
    expect(JSON.stringify(waitResult)).toContain('completed');

    const child = await stack.waitForRun(childId);
    expect(child.status).toBe('completed');
    expect(child.parent_run_id).toBe(id);
    expect(child.history[0]).toMatchObject({ status: 'pending', by: `run:${id}` });
    expect(JSON.stringify(child.result)).toContain(CHILD_MESSAGE);
    expect(run.children).toEqual([{ run_id: childId, status: 'completed', detached: false }]);
    const description = await stack.client.workflow.getHandle(runWorkflowId(childId)).describe();
    expect(description.parentExecution?.workflowId).toBe(runWorkflowId(id));

    // The credential reached the CLI as a header it expanded, and nowhere in what the run shows.
    const token = credentials.tokenFor(id);
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events?limit=5000`);
    expect(JSON.stringify(body.events)).not.toContain(token);
    expect(JSON.stringify(run)).not.toContain(token);
    expect(body.events.filter((event) => event.kind === 'tool_call').map((event) => event.data.name)).toEqual(['mcp__ao__start_run', 'mcp__ao__wait_for_run']);
    // Its run has ended: so has its credential.
    const late = await fetch(`${stack.apiUrl}${MCP_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(late.status).toBe(401);
    expect(((await late.json()) as { error: string }).error).toContain('has ended');
  });
  it('gemini: starts a child echo run through ao’s MCP server, waits for it and answers with its result', async () => {
    const waitTurn = gemini.gate();
    const wait = gemini.callTool('mcp_ao_wait_for_run', { run_id: 'set-below', timeout_seconds: 120 }, { until: waitTurn.promise });
    geminiScript.push(gemini.callTool('mcp_ao_start_run', { agent: 'echo', parameters: { message: CHILD_MESSAGE } }), wait, gemini.reply(`The child answered: ${CHILD_MESSAGE}`));
    const id = await stack.postRun({ agent: 'gemini-foreman', prompt: 'start an echo child and tell me what it said', additional_demands: { tags: [geminiTag] } });
    started.push(id);

    const { children } = await stack.waitForRun(id, (run) => (run.children?.length ?? 0) > 0);
    const childId = children![0]!.run_id;
    (wait.calls![0]!.args as { run_id: string }).run_id = childId;
    waitTurn.release();

    const run = await stack.waitForRun(id, undefined, 120_000);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(JSON.stringify(run.result)).toContain(`The child answered: ${CHILD_MESSAGE}`);
    // What the CLI got back from wait_for_run, in the conversation it sent the model: the child's own result.
    const responses = gemini.partsOf(geminiEndpoint.mainRequests.at(-1)!, 'functionResponse').map((part) => JSON.stringify(part.functionResponse));
    expect(responses.at(-1)).toContain(CHILD_MESSAGE);
    const child = await stack.waitForRun(childId);
    expect(child).toMatchObject({ status: 'completed', parent_run_id: id });
    expect(child.history[0]).toMatchObject({ status: 'pending', by: `run:${id}` });

    // The credential reached the CLI through its settings' header, expanded from its environment; it shows nowhere.
    const token = credentials.tokenFor(id);
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events?limit=5000`);
    expect(JSON.stringify(body.events)).not.toContain(token);
    expect(JSON.stringify(run)).not.toContain(token);
  });
});

describe('a run’s credential', () => {
  it('is refused (403) on every other route of the API', async () => {
    const run = await heldRun();
    const document = (await (await fetch(`${stack.apiUrl}${OPENAPI_PATH}`)).json()) as OpenApiDocument;
    const tried: string[] = [];
    for (const [route, item] of Object.entries(document.paths ?? {})) {
      if (route === MCP_PATH) continue;
      for (const [method, operation] of Object.entries(item as Record<string, { security?: unknown[] }>)) {
        if (!operation.security?.length) continue;
        const url = `${stack.apiUrl}${route.replace(/\{(\w+)\}/g, (_match, name: string) => (name === 'id' ? run.id : 'x'))}`;
        const response = await fetch(url, { method: method.toUpperCase(), headers: { authorization: `Bearer ${run.token}`, 'content-type': 'application/json' }, ...(method === 'get' ? {} : { body: '{}' }) });
        expect(response.status, `${method.toUpperCase()} ${route}`).toBe(403);
        tried.push(`${method} ${route}`);
      }
    }
    expect(tried.length).toBeGreaterThan(40);
    // A forged one (another run's id under this one's MAC) is no credential at all.
    const last = run.id.slice(-1);
    const forged = run.token.replace(run.id, `${run.id.slice(0, -1)}${last === '0' ? '1' : '0'}`);
    expect(forged).not.toBe(run.token);
    expect((await stack.api('GET', '/runs', { token: forged })).status).toBe(401);
  });

  it('reaches only its own run’s children: another run is refused, and so is an agent its agent may not start', async () => {
    const mine = await heldRun();
    const other = await heldRun();
    const client = await mcpClient(mine.token);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(['get_run', 'list_agents', 'list_runs', 'send_input', 'start_run', 'stop_run', 'wait_for_run']);
      for (const [tool, args] of [
        ['get_run', { run_id: other.id }],
        ['wait_for_run', { run_id: other.id, timeout_seconds: 1 }],
        ['stop_run', { run_id: other.id }],
        ['send_input', { run_id: other.id, text: 'hi' }],
      ] as const) {
        const result = await client.callTool({ name: tool, arguments: args });
        expect(result.isError, tool).toBe(true);
        expect(textOf(result)).toBe(`run ${other.id} is not a child of run ${mine.id}: this run's credential reaches only its own children`);
      }
      expect((await stack.api<RunView>('GET', `/runs/${other.id}`)).body.status).toBe('running');
      // The echo agent lists no agents in may_start: it may start none.
      const refused = await client.callTool({ name: 'start_run', arguments: { agent: 'echo' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe('agent echo may not start agent echo: its may_start lists no agents');
      expect(JSON.parse(textOf(await client.callTool({ name: 'list_agents', arguments: {} })))).toEqual([]);
      expect((await stack.api<RunView>('GET', `/runs/${mine.id}`)).body.children).toBeUndefined();
      // Bad input is the tool's refusal, not a server error.
      const bad = await client.callTool({ name: 'wait_for_run', arguments: { run_id: '../etc', timeout_seconds: 100_000 } });
      expect(bad.isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('is refused (401) at /mcp once its run has ended, and a user token is no run credential', async () => {
    const run = await heldRun();
    await run.open();
    await stack.waitForRun(run.id);
    await expect(mcpClient(run.token)).rejects.toThrow(/401|has ended/);
    const asAdmin = await fetch(`${stack.apiUrl}${MCP_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(asAdmin.status).toBe(401);
    await eventually(async () => expect((await stack.api<RunView>('GET', `/runs/${run.id}`)).body.status).toBe('completed'));
  });
});

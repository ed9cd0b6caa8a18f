import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import { repoRoot } from '../core/config/paths.js';
import type { RunView } from '../core/contract/http.js';
import * as anthropic from './support/scripted-anthropic.js';
import * as gemini from './support/scripted-gemini.js';
import * as openai from './support/scripted-openai.js';
import { ownedByExecutor } from './support/executor-user.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

/**
 * A failing vendor API is retried as the profile's `max_vendor_retries` allows, each CLI through its
 * own setting: a run against an endpoint that fails every request ends after that many retries,
 * with the API's error as its cause; without the setting, a passing failure is retried as the CLI
 * does by default and the run completes.
 */

interface Endpoint {
  url: string;
  mainRequests: unknown[];
  close(): Promise<void>;
}

interface Kit {
  type: 'claude-code' | 'codex' | 'gemini';
  agent: string;
  /** An error turn the endpoint answers `times` requests in a row with. */
  failing(times: number): unknown;
  reply(text: string): unknown;
  serve(turns: unknown[]): Promise<Endpoint>;
  config(endpoint: Endpoint): Record<string, unknown>;
  env(endpoint: Endpoint, home: string): NodeJS.ProcessEnv;
  cause: RegExp;
  /** Whether the CLI tells of each retry (an `alert` of kind `api_retry`). */
  reportsRetries: boolean;
  /** The model requests a call that always fails makes with `max_vendor_retries: 1`. */
  boundedRequests: number;
}

const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);
/** More failures than any CLI retries by default. */
const ALWAYS = 60;

const kits: Kit[] = [
  {
    type: 'claude-code',
    agent: 'coder',
    failing: (times) => anthropic.apiError(529, 'overloaded_error', 'Overloaded', { times }),
    reply: (text) => anthropic.reply(text),
    serve: (turns) => anthropic.startScriptedAnthropic(turns as anthropic.Turn[]),
    config: () => ({ model: 'claude-sonnet-4-5' }),
    env: (endpoint, home) => ({ ANTHROPIC_BASE_URL: endpoint.url, ANTHROPIC_API_KEY: 'test-key', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home }),
    cause: /^claude: .*529/,
    reportsRetries: true,
    boundedRequests: 2,
  },
  {
    type: 'codex',
    agent: 'codex-coder',
    failing: (times) => openai.apiError(500, 'server_error', 'the scripted endpoint is down', { times }),
    reply: (text) => openai.reply(text),
    serve: (turns) => openai.startScriptedOpenAI(turns as openai.Turn[]),
    config: (endpoint) => ({ model: 'gpt-5.5', provider: { name: 'local', base_url: `${endpoint.url}/v1`, wire_api: 'responses', env_key: 'OPENAI_API_KEY' } }),
    env: (_endpoint, home) => ({ OPENAI_API_KEY: 'test-key', HOME: home, CODEX_HOME: path.join(home, 'codex-home') }),
    // codex words a 5xx its own way ("We’re currently experiencing high demand…").
    cause: /^codex: .*(500|down|high demand)/,
    reportsRetries: true,
    // codex retries at two levels, the request within each stream attempt: (1 + 1) × (1 + 1).
    boundedRequests: 4,
  },
  {
    type: 'gemini',
    agent: 'gemini-coder',
    failing: (times) => gemini.apiError(500, 'INTERNAL', 'the scripted endpoint is down', { times }),
    reply: (text) => gemini.reply(text),
    serve: (turns) => gemini.startScriptedGemini(turns as gemini.Turn[]),
    config: () => ({ model: 'gemini-2.5-pro' }),
    env: (endpoint, home) => ({ GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: endpoint.url, HOME: home }),
    cause: /^gemini: .*(500|down)/,
    reportsRetries: false,
    boundedRequests: 2,
  },
];

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

describe.each(kits)('the $type executor against a failing vendor API', (kit) => {
  // An endpoint for each runner: the bounded one fails every request, the other fails once.
  const endpoints: Partial<Record<'bounded' | 'unbounded', Endpoint>> = {};
  const tags = { bounded: '', unbounded: '' };

  beforeAll(async () => {
    const scratch = await fs.mkdtemp(path.join(stack.root, `retries-${kit.type}-`));
    for (const mode of ['bounded', 'unbounded'] as const) {
      const profiles = await fs.mkdtemp(path.join(scratch, 'profiles-'));
      const home = await fs.mkdtemp(path.join(scratch, 'home-'));
      await fs.mkdir(path.join(home, 'codex-home'));
      await ownedByExecutor(home);
      const endpoint = (endpoints[mode] = await kit.serve(mode === 'bounded' ? [kit.failing(ALWAYS)] : [kit.failing(1), kit.reply('Made it.')]));
      const env = kit.env(endpoint, home);
      const config = { ...kit.config(endpoint), ...(mode === 'bounded' ? { max_vendor_retries: 1 } : {}), env_passthrough: Object.keys(env).filter((name) => name !== 'HOME') };
      await fs.writeFile(path.join(profiles, 'retries.json'), JSON.stringify({ type: kit.type, command: [kit.type === 'claude-code' ? bin('claude') : bin(kit.type)], config }));
      tags[mode] = uniqueTag(`retries-${kit.type}-${mode}`);
      await stack.startRunner({ profile: 'retries', tags: [tags[mode]], extraArgs: ['--profiles-dir', profiles], env });
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(endpoints).map((endpoint) => endpoint.close()));
  });

  const run = async (mode: 'bounded' | 'unbounded'): Promise<RunView> =>
    (await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: kit.agent, prompt: 'anything', additional_demands: { tags: [tags[mode]] } } })).body;
  const alerts = (id: string): Promise<RunEvent[]> =>
    eventually(async () => {
      const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
      if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('no session_ended yet');
      return body.events.filter((event) => event.kind === 'alert');
    });

  it('fails after the retry max_vendor_retries: 1 allows, with the API’s error as the cause', async () => {
    const result = await run('bounded');
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(kit.cause);
    // The first request and one retry: far from the CLI's own default.
    expect(endpoints.bounded!.mainRequests).toHaveLength(kit.boundedRequests);
    if (kit.reportsRetries) {
      const retry = (await alerts(result.id)).find((event) => event.data.kind === 'api_retry')?.data;
      expect(retry?.message).toMatch(kit.type === 'claude-code' ? /^model API error \(HTTP 529\), retrying 1 of 1/ : /^codex: /);
      expect(retry).toMatchObject({ attempt: 1, max_attempts: 1, ...(kit.type === 'claude-code' ? { status: 529 } : {}) });
    }
  });

  it('without the setting, retries a passing failure as the CLI does and completes', async () => {
    const result = await run('unbounded');
    expect(result.status, JSON.stringify(result.error)).toBe('completed');
    expect(endpoints.unbounded!.mainRequests).toHaveLength(2);
  });
});

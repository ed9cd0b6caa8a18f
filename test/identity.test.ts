import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, CreatedToken, TokenView } from '../core/contract/identity.js';
import type { RunEvent } from '../core/contract/events.js';
import { runGate } from './support/gates.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

let stack: TestStack;
const tokens: Record<string, string> = {};

async function createToken(name: string, role: string): Promise<string> {
  const { status, body } = await stack.api<CreatedToken>('POST', '/tokens', { body: { name, role } });
  expect(status).toBe(201);
  return body.token;
}

beforeAll(async () => {
  stack = await TestStack.create();
  for (const [name, role] of [['vera', 'viewer'], ['olga', 'operator'], ['adam', 'admin'], ['other-runner', 'runner']] as const) tokens[name] = await createToken(name, role);
});
afterAll(async () => {
  await stack?.stop();
});

const eventsOf = async (id: string): Promise<RunEvent[]> => (await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`)).body.events;

describe('users by role', () => {
  it('lets a viewer read but not start a run, naming the role it needs', async () => {
    expect((await stack.api('GET', '/runs', { token: tokens.vera })).status).toBe(200);
    const refused = await stack.api<{ error: string; details: { needs: string } }>('POST', '/runs', { token: tokens.vera, body: { agent: 'echo' } });
    expect(refused.status).toBe(403);
    expect(refused.body.details.needs).toBe('operator');
    expect(refused.body.error).toContain('role viewer');
  });

  it('lets an operator start and stop runs but not change agents or tokens', async () => {
    expect((await stack.api('POST', '/agents', { token: tokens.olga, body: { name: 'x-agent' } })).status).toBe(403);
    expect((await stack.api('GET', '/tokens', { token: tokens.olga })).status).toBe(403);
    expect((await stack.api('GET', '/audit', { token: tokens.olga })).status).toBe(403);
  });

  it('lists tokens without their secrets, keeps them hashed, and refuses a revoked one', async () => {
    const secret = await createToken('short-lived', 'viewer');
    const listed = (await stack.api<{ tokens: TokenView[] }>('GET', '/tokens')).body.tokens;
    expect(listed.find((token) => token.name === 'short-lived')).toMatchObject({ role: 'viewer', created_by: 'admin' });
    expect(JSON.stringify(listed)).not.toContain(secret);
    const stored = await fs.readFile(path.join(stack.root, 'data', 'tokens.json'), 'utf8');
    expect(stored).not.toContain(secret);
    expect(((await fs.stat(path.join(stack.root, 'data', 'tokens.json'))).mode & 0o777).toString(8)).toBe('600');
    expect((await stack.api('GET', '/runs', { token: secret })).status).toBe(200);
    expect((await stack.api('DELETE', '/tokens/short-lived', { token: tokens.adam })).status).toBe(204);
    expect((await stack.api('GET', '/runs', { token: secret })).status).toBe(401);
    expect((await stack.api('POST', '/tokens', { body: { name: 'vera', role: 'admin' } })).status).toBe(409);
    expect((await stack.api('DELETE', '/tokens/admin')).status).toBe(409);
  });
});

describe('attribution', () => {
  it('records who started and who stopped a run, in its history and in the audit log', async () => {
    const tag = uniqueTag('who');
    await stack.startRunner({ tags: [tag] });
    // Held until the stop: it is still running when the stop comes.
    const gate = await runGate(stack.root);
    const started = await stack.api<{ id: string }>('POST', '/runs', { token: tokens.olga, body: { agent: 'echo', parameters: gate.parameters, additional_demands: { tags: [tag] } } });
    expect(started.status).toBe(201);
    const id = started.body.id;
    await stack.waitForRun(id, (run) => run.status === 'running');
    expect((await stack.api('POST', `/runs/${id}/stop`, { token: tokens.adam, body: { reason: 'enough' } })).status).toBe(202);
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('stopped');
    expect(run.history[0]).toMatchObject({ status: 'pending', by: 'olga' });
    expect(run.history.find((change) => change.status === 'stopping')).toMatchObject({ reason: 'enough', by: 'adam' });
    expect(run.history.at(-1)).toMatchObject({ status: 'stopped', by: 'adam' });
    const audit = (await stack.api<{ entries: AuditEntry[] }>('GET', '/audit?limit=1000')).body.entries;
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: 'olga', action: 'run.start', target: id }),
        expect.objectContaining({ actor: 'adam', action: 'run.stop', target: id, details: { reason: 'enough' } }),
        expect.objectContaining({ actor: 'admin', action: 'token.create', target: 'vera', details: { role: 'viewer' } }),
      ]),
    );
  });
});

describe('runner credentials', () => {
  it('are refused on user routes, and user tokens on runner routes', async () => {
    expect((await stack.api('GET', '/runs', { token: stack.runnerToken })).status).toBe(403);
    expect((await stack.api('POST', '/runs', { token: stack.runnerToken, body: { agent: 'echo' } })).status).toBe(403);
    expect((await stack.api('POST', '/internal/events', { body: { events: [] } })).status).toBe(403);
    const download = (token: string) => fetch(`${stack.apiUrl}/scripts/file-stats/download`, { headers: { authorization: `Bearer ${token}` } });
    expect((await download(tokens.adam!)).status).toBe(403);
    expect((await download(stack.runnerToken)).status).toBe(200);
  });

  it('store nothing for a run that does not exist or was never assigned to the poster', async () => {
    const tag = uniqueTag('forge');
    await stack.startRunner({ tags: [tag] });
    const id = await stack.postRun({ agent: 'echo', prompt: 'real', additional_demands: { tags: [tag] } });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    const real = await eventually(async () => {
      const events = await eventsOf(id);
      expect(events.some((event) => event.kind === 'session_ended')).toBe(true);
      return events;
    });
    const forged = (runId: string, source: string) => ({
      events: Array.from({ length: 50 }, (_, seq) => ({ run_id: runId, source, seq, kind: 'terminal_chunk', at: new Date().toISOString(), data: { text: 'forged' } })),
    });
    const missing = '00000000-0000-4000-8000-000000000000';
    const forMissing = await stack.api<{ error: string }>('POST', '/internal/events', { token: stack.runnerToken, body: forged(missing, 'x/1') });
    expect(forMissing.status).toBe(403);
    await expect(fs.access(path.join(stack.root, 'data', 'events', `${missing}.jsonl`))).rejects.toThrow();
    // Another runner credential, under the real runner's own source: refused, and the run's log is untouched.
    const source = real[0]!.source.split('/').slice(1).join('/');
    expect((await stack.api('POST', '/internal/events', { token: tokens['other-runner'], body: forged(id, source) })).status).toBe(403);
    expect(await eventsOf(id)).toEqual(real);
    // The real runner's events are filed under its credential's name, so no other credential can share their source.
    expect(real.every((event) => event.source.startsWith('test-runners/'))).toBe(true);
  });

  it('stop a runner given a user token, saying it needs a runner token', async () => {
    const runner = stack.spawnRunner(['--profile', 'echo', '--api-url', stack.apiUrl, '--project-dir', stack.root], { AO_API_TOKEN: tokens.olga });
    expect((await runner.exited).code).toBe(1);
    expect(runner.output).toContain('AO_API_TOKEN is the operator token "olga"; a runner needs a runner token');
  });
});

describe('an executor', () => {
  it('gets a clean environment: no ao or Temporal setting, no runner credential, only the base and its invocation', async () => {
    const tag = uniqueTag('env');
    const agent = `env-dump-${tag}`;
    expect((await stack.api('POST', '/agents', { body: { name: agent, type: 'procedural', command: ['env'], tags: [], demands: { tags: [tag] } } })).status).toBe(201);
    await stack.startRunner({ profile: 'procedural', tags: [tag], env: { RUNNER_SECRET_TOKEN: 'runner-secret-value-1234', AO_HOOKS_DIR: stack.root } });
    const id = await stack.postRun({ agent });
    const run = await stack.waitForRun(id);
    expect(run.status).toBe('completed');
    const stdout = (run.result as { stdout: string }).stdout;
    const names = stdout.split('\n').map((line) => line.split('=')[0]).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['PATH', 'AO_RUN_ID', 'AO_WORKSPACE_DIR']));
    for (const name of names) expect(name).not.toMatch(/^(TEMPORAL_|AO_API|AO_RUNNER|AO_HOOKS|AO_DATA|AO_CONFIG|RUNNER_SECRET)/);
    expect(stdout).not.toContain(stack.runnerToken);
    expect(stdout).not.toContain(stack.token);
    expect(stdout).not.toContain('runner-secret-value-1234');
    expect(stdout).toContain(`AO_RUN_ID=${id}`);
  });
});

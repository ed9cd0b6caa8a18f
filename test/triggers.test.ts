import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../activities/git.js';
import { signatureOf } from '../api/triggers-service.js';
import type { RunEvent } from '../core/contract/events.js';
import type { RunList, RunView } from '../core/contract/http.js';
import type { Delivery, TriggerView } from '../core/contract/triggers.js';
import { startGitHttpServer, type GitHttpServer } from './support/git-http-server.js';
import { makePatrolProject } from './support/patrol-project.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';

const SECRET = 'whsec-0123456789abcdef-trigger';
const FORGE_TOKEN = `ghs_${crypto.randomBytes(18).toString('hex')}`;
const NEW_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';
test('parses the new format', () => assert.equal('new'.length, 4));
`;

let stack: TestStack;
let forge: GitHttpServer;
let tag: string;
let projectDir: string;
let pushed: { before: string; after: string };
let prHead: string;

const fixture = async (name: string, values: Record<string, string>): Promise<string> => {
  const text = await fs.readFile(path.join(import.meta.dirname, 'fixtures', 'github', `${name}.json`), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_match, key: string) => values[key]!);
};

const commit = (dir: string, message: string) => git(dir, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', message]);

/** Posts a delivery as GitHub does: the raw body, signed (unless told otherwise), with its event and delivery id. */
async function deliver(trigger: string, event: string, body: string, options: { deliveryId?: string; signature?: string | null } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': options.deliveryId ?? crypto.randomUUID() };
  const signature = options.signature === undefined ? signatureOf(SECRET, body) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  const response = await fetch(`${stack.apiUrl}/triggers/${trigger}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Delivery & { error?: string } };
}

async function eventsOf(runId: string): Promise<RunEvent[]> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${runId}/events`);
    if (!body.events.some((event) => event.kind === 'session_ended')) throw new Error('the run’s events have not all arrived');
    return body.events;
  });
}

beforeAll(async () => {
  stack = await TestStack.create();
  tag = uniqueTag('hook');
  // The forge: a bare repository served over HTTP that wants the token; a seed clone pushes to it.
  const forgeRoot = await fs.mkdtemp(path.join(stack.root, 'forge-'));
  const seed = await makePatrolProject(await fs.mkdtemp(path.join(stack.root, 'seed-')));
  await git(forgeRoot, ['clone', '-q', '--bare', seed, 'patrolled.git']);
  // GitHub serves any commit of the repository by its sha, as this does.
  await git(path.join(forgeRoot, 'patrolled.git'), ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
  forge = await startGitHttpServer(forgeRoot, FORGE_TOKEN);
  const remote = `${forge.url}/patrolled.git`;
  const auth = `Authorization: Basic ${Buffer.from(`x-access-token:${FORGE_TOKEN}`).toString('base64')}`;
  projectDir = path.join(stack.root, 'runner-clone');
  await git(stack.root, ['-c', `http.extraHeader=${auth}`, 'clone', '-q', remote, projectDir]);
  // After the runner's clone: a push to main and a pull request head that the clone does not have.
  await git(seed, ['remote', 'add', 'forge', path.join(forgeRoot, 'patrolled.git')]);
  const before = (await git(seed, ['rev-parse', 'HEAD'])).trim();
  await fs.writeFile(path.join(seed, 'test', 'new.test.mjs'), NEW_TEST);
  await git(seed, ['add', '-A']);
  await commit(seed, 'Add a test for the new parser');
  pushed = { before, after: (await git(seed, ['rev-parse', 'HEAD'])).trim() };
  await git(seed, ['push', '-q', 'forge', 'main']);
  await git(seed, ['checkout', '-q', '-b', 'docs', before]);
  await fs.mkdir(path.join(seed, 'docs'));
  await fs.writeFile(path.join(seed, 'docs', 'pr-only.md'), '# the parser\n');
  await git(seed, ['add', '-A']);
  await commit(seed, 'Document the parser');
  prHead = (await git(seed, ['rev-parse', 'HEAD'])).trim();
  await git(seed, ['push', '-q', 'forge', `${prHead}:refs/pull/42/head`]);
  await expect(git(projectDir, ['cat-file', '-e', `${pushed.after}^{commit}`])).rejects.toThrow();

  await stack.startRunner({ profile: 'procedural', tags: [tag], projectDir, env: { AO_FORGE_TOKEN: FORGE_TOKEN } });
  const created = await stack.api<TriggerView>('POST', '/triggers', {
    body: {
      name: 'ci',
      description: 'GitHub: pushes to main run the test patrol; pull requests check their head',
      secret: SECRET,
      rules: [
        {
          event: 'push',
          when: { ref: 'refs/heads/main' },
          agent: 'patrol',
          parameters: { checks: { test: ['node', '--test', '--test-reporter=tap', 'test/new.test.mjs'], env: ['node', '-e', 'console.error(Object.keys(process.env).join(" "))'] } },
          additional_demands: { tags: [tag] },
          base_ref_from: 'after',
        },
        {
          event: 'pull_request',
          when: { action: ['opened', 'synchronize'] },
          agent: 'patrol',
          parameters: { checks: { docs: ['node', '-e', 'require("node:fs").accessSync("docs/pr-only.md")'] } },
          additional_demands: { tags: [tag] },
          base_ref_from: 'pull_request.head.sha',
        },
      ],
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
});
afterAll(async () => {
  await stack?.stop();
  await forge?.close();
});

describe('webhook triggers', () => {
  it('never answers the secret, and keeps the file its owner’s only', async () => {
    const { body } = await stack.api<TriggerView>('GET', '/triggers/ci');
    expect(body).toMatchObject({ name: 'ci', secret_set: true, url: '/triggers/ci' });
    expect(JSON.stringify(body)).not.toContain(SECRET);
    expect(JSON.stringify((await stack.api('GET', '/triggers')).body)).not.toContain(SECRET);
    const changed = await stack.api('PATCH', '/triggers/ci', { body: { description: 'still ci' } });
    expect(JSON.stringify(changed.body)).not.toContain(SECRET);
    expect((await fs.stat(path.join(stack.configDir, 'triggers', 'ci.json'))).mode & 0o077).toBe(0);
  });

  it('runs the test patrol on a pushed commit the runner’s clone lacked, fetched with the forge token the executor never sees', async () => {
    const before = forge.authorized;
    const body = await fixture('push', pushed);
    const deliveryId = crypto.randomUUID();
    const { status, body: delivery } = await deliver('ci', 'push', body, { deliveryId });
    expect(status, JSON.stringify(delivery)).toBe(201);
    expect(delivery).toMatchObject({ outcome: 'started', delivery_id: deliveryId, rule: 0 });
    const run = await stack.waitForRun(delivery.run_id!);
    // The pushed commit's new test ran (and fails): the run worked on that commit.
    expect(run).toMatchObject({ status: 'failed', origin: 'trigger:ci' });
    expect(run.result).toMatchObject({ checks: [{ name: 'test', counts: { failed: 1, passed: 0 }, first_failures: ['parses the new format'] }, { name: 'env', passed: true }] });
    expect(forge.authorized).toBeGreaterThan(before);
    const events = await eventsOf(run.id);
    expect(events.filter((event) => event.kind === 'alert').map((event) => event.data.message)).toEqual([expect.stringMatching(/^patrol: test failed .*parses the new format/)]);
    // The executor's environment had no forge token: not by value, not by name, not redacted.
    const everything = JSON.stringify(events);
    expect(everything).not.toContain(FORGE_TOKEN);
    expect(everything).not.toContain('AO_FORGE_TOKEN');
    expect(everything).toContain('PATH');
    // Nor the clone's git config, which the run's worktree shares.
    expect(await git(projectDir, ['config', '--list', '--show-origin'])).not.toMatch(/extraheader|x-access-token/i);
    expect(await git(projectDir, ['cat-file', '-t', pushed.after])).toBe('commit\n');
  });

  it('starts nothing new for a redelivery (same delivery id), and lists each delivery with what it started', async () => {
    const body = await fixture('push', pushed);
    const deliveryId = crypto.randomUUID();
    const first = await deliver('ci', 'push', body, { deliveryId });
    expect(first.status).toBe(201);
    const again = await deliver('ci', 'push', body, { deliveryId });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ outcome: 'duplicate', run_id: first.body.run_id });
    await stack.waitForRun(first.body.run_id!);
    const runs = await eventually(async () => {
      const listed = (await stack.api<RunList>('GET', '/runs?origin=trigger:ci&limit=100')).body.runs.filter((run) => run.id === first.body.run_id);
      if (listed.length !== 1) throw new Error(`${listed.length} runs`);
      return listed;
    });
    expect(runs).toHaveLength(1);
    const { body: listed } = await stack.api<{ deliveries: Delivery[] }>('GET', '/triggers/ci/deliveries');
    expect(listed.deliveries.filter((entry) => entry.delivery_id === deliveryId).map((entry) => entry.outcome)).toEqual(['duplicate', 'started']);
  });

  it('runs a pull request’s check on its head commit', async () => {
    const body = await fixture('pull_request', { head: prHead, base: pushed.before });
    const { status, body: delivery } = await deliver('ci', 'pull_request', body);
    expect(status, JSON.stringify(delivery)).toBe(201);
    expect(delivery.rule).toBe(1);
    const run = await stack.waitForRun(delivery.run_id!);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.result).toMatchObject({ passed: true, checks: [{ name: 'docs', passed: true }] });
    expect(run.workspace?.base_commit).toBe(prHead);
  });

  it('answers an event no rule maps (a ping, a closed pull request) with 200 and starts nothing', async () => {
    const closed = (await fixture('pull_request', { head: prHead, base: pushed.before })).replace('"action": "opened"', '"action": "closed"');
    const { status, body } = await deliver('ci', 'pull_request', closed);
    expect(status).toBe(200);
    expect(body).toMatchObject({ outcome: 'ignored' });
    expect(body.run_id).toBeUndefined();
    expect((await deliver('ci', 'ping', JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }))).body.outcome).toBe('ignored');
  });

  describe('refuses, starting nothing', () => {
    async function triggerRunCount(): Promise<number> {
      return (await stack.api<RunList>('GET', '/runs?origin=trigger:ci&limit=500')).body.runs.length;
    }

    it('an unsigned, a badly signed and a re-signed-for-another-body delivery (401)', async () => {
      const count = await triggerRunCount();
      const body = await fixture('push', pushed);
      const deliveryId = crypto.randomUUID();
      expect((await deliver('ci', 'push', body, { signature: null, deliveryId })).status).toBe(401);
      expect((await deliver('ci', 'push', body, { signature: 'sha256=' + '0'.repeat(64), deliveryId })).status).toBe(401);
      expect((await deliver('ci', 'push', body, { signature: signatureOf('another-secret-entirely', body), deliveryId })).status).toBe(401);
      expect((await deliver('ci', 'push', body, { signature: signatureOf(SECRET, body).replace('sha256=', 'sha1='), deliveryId })).status).toBe(401);
      // The same JSON, re-serialised: the signature is over the raw bytes, so it no longer matches.
      const reformatted = JSON.stringify(JSON.parse(body));
      expect((await deliver('ci', 'push', reformatted, { signature: signatureOf(SECRET, body), deliveryId })).status).toBe(401);
      expect(await triggerRunCount()).toBe(count);
      const { body: listed } = await stack.api<{ deliveries: Delivery[] }>('GET', '/triggers/ci/deliveries');
      expect(listed.deliveries.some((entry) => entry.delivery_id === deliveryId)).toBe(false);
    });

    it('an oversized body (413) and headers that are not GitHub’s (400)', async () => {
      const big = JSON.stringify({ ref: 'refs/heads/main', after: pushed.after, padding: 'x'.repeat(1024 * 1024 + 1) });
      expect((await deliver('ci', 'push', big)).status).toBe(413);
      const body = await fixture('push', pushed);
      expect((await deliver('ci', 'push', body, { deliveryId: '../../etc/passwd' })).status).toBe(400);
      expect((await deliver('ci', 'Push; rm -rf /', body)).status).toBe(400);
    });

    it('trigger names with path tricks (400) and unknown triggers (404)', async () => {
      const body = await fixture('push', pushed);
      // Each reaches the route (a bare `..` segment would be resolved away by the URL parser before sending).
      for (const name of ['..%2Fagents%2Fpatrol%2Fagent', '%2e%2e%2fci', 'ci%00', '.hidden..x', 'ci..']) {
        const response = await fetch(`${stack.apiUrl}/triggers/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureOf(SECRET, body) }, body });
        expect(response.status, name).toBe(400);
      }
      expect((await deliver('no-such-trigger', 'push', body)).status).toBe(404);
      expect((await stack.api('POST', '/triggers', { body: { name: '../x', secret: SECRET, rules: [] } })).status).toBe(400);
    });

    it('a weak secret and a viewer managing triggers', async () => {
      expect((await stack.api('POST', '/triggers', { body: { name: 'weak', secret: 'short', rules: [{ event: 'push', agent: 'patrol' }] } })).status).toBe(400);
      const viewer = await stack.api<{ token: string }>('POST', '/tokens', { body: { name: 'trigger-viewer', role: 'viewer' } });
      expect((await stack.api('POST', '/triggers', { token: viewer.body.token, body: { name: 'by-viewer', secret: SECRET, rules: [{ event: 'push', agent: 'patrol' }] } })).status).toBe(403);
      expect((await stack.api('GET', '/triggers/ci', { token: viewer.body.token })).status).toBe(200);
    });
  });

  it('keeps the secret and the forge token out of the audit log, the API’s answers and the deliveries', async () => {
    const auditFile = await fs.readFile(path.join(stack.root, 'data', 'audit.jsonl'), 'utf8');
    expect(auditFile).toContain('trigger.create');
    expect(auditFile).not.toContain(SECRET);
    const deliveries = await fs.readFile(path.join(stack.root, 'data', 'triggers', 'ci.jsonl'), 'utf8');
    expect(deliveries).not.toContain(SECRET);
    const run = (await stack.api<RunList>('GET', '/runs?origin=trigger:ci&limit=1')).body.runs[0]!;
    const view = await stack.api<RunView>('GET', `/runs/${run.id}`);
    expect(JSON.stringify(view.body)).not.toContain(FORGE_TOKEN);
  });
});

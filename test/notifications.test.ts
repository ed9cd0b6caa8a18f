import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../core/contract/approvals.js';
import type { AuditEntry, CreatedToken } from '../core/contract/identity.js';
import type { Delivery, DeliveryBody, NotificationView } from '../core/contract/notifications.js';
import { notifyWorkflowId, runWorkflowId } from '../workflows/messages.js';
import * as anthropic from './support/scripted-anthropic.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { startSupervisedClaude, supervisedConfig } from './support/supervised-claude.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from './support/webhook-receiver.js';

/**
 * Notifications end to end: real runs on a real runner end (or ask for approval), the run workflow
 * starts a notify workflow, and its activity POSTs to a real HTTP receiver in this process. Each
 * test filters its notification on a tag of its own, so it sees only its own runs.
 */

let stack: TestStack;
let receiver: WebhookReceiver;
let viewer: string;
/** Every secret the tests set: none may appear in any answer of the API. */
const secrets: string[] = [];
/** Every answer body the tests got, checked for secrets at the end. */
const answers: string[] = [];

beforeAll(async () => {
  stack = await TestStack.create();
  receiver = await startWebhookReceiver();
  viewer = (await stack.api<CreatedToken>('POST', '/tokens', { body: { name: 'vera', role: 'viewer' } })).body.token;
});
afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
});

async function api<T>(method: string, route: string, options: { body?: unknown; token?: string } = {}) {
  const answer = await stack.api<T>(method, route, options);
  answers.push(JSON.stringify(answer.body ?? ''));
  return answer;
}

/** A notification to `/<name>` on the receiver, with a fresh secret; returns its name and secret. */
async function createNotification(fields: Record<string, unknown>): Promise<{ name: string; secret: string; path: string }> {
  const name = uniqueTag('hook');
  const secret = crypto.randomBytes(24).toString('hex');
  secrets.push(secret);
  const created = await api<NotificationView>('POST', '/notifications', { body: { name, url: `${receiver.url}/${name}`, secret, ...fields } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { name, secret, path: `/${name}` };
}

const hmac = (secret: string, body: string): string => `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
const deliveriesOf = async (name: string): Promise<Delivery[]> => (await api<{ deliveries: Delivery[] }>('GET', `/notifications/${name}/deliveries`)).body.deliveries;
/** Waits until the notification's delivery of this run has settled (delivered or given up). */
const settledDelivery = (name: string, runId: string): Promise<Delivery> =>
  eventually(async () => {
    const delivery = (await deliveriesOf(name)).find((entry) => entry.run_id === runId);
    if (!delivery || delivery.status === 'pending') throw new Error(`delivery for ${runId}: ${JSON.stringify(delivery)}`);
    return delivery;
  });
const received = (path: string, count = 1): Promise<ReceivedRequest[]> =>
  eventually(() => {
    const requests = receiver.to(path);
    if (requests.length < count) throw new Error(`${path} received ${requests.length} of ${count}`);
    return requests;
  });

async function echoRun(tag: string): Promise<string> {
  const id = await stack.postRun({ agent: 'echo', prompt: 'notify me', additional_demands: { tags: [tag] } });
  const run = await stack.waitForRun(id);
  expect(run.status).toBe('completed');
  return id;
}

describe('a run no notification takes', () => {
  it('ends without starting a notify workflow', async () => {
    // First in the file: no notification exists yet.
    const tag = uniqueTag('unnoticed');
    await stack.startRunner({ tags: [tag] });
    const id = await echoRun(tag);
    await stack.client.workflow.getHandle(runWorkflowId(id)).result();
    await expect(stack.client.workflow.getHandle(notifyWorkflowId(id, 'ended')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });
});

describe('a notification for run.completed', () => {
  let tag: string;
  beforeAll(async () => {
    tag = uniqueTag('notify');
    await stack.startRunner({ tags: [tag] });
  });

  it('delivers a signed body for a run that completes, with its delivery id and event', async () => {
    const hook = await createNotification({ events: ['run.completed'], tags: [tag] });
    const id = await echoRun(tag);
    const [request] = await received(hook.path);
    expect(request!.headers['x-ao-signature-256']).toBe(hmac(hook.secret, request!.body));
    const body = JSON.parse(request!.body) as DeliveryBody;
    expect(body).toMatchObject({ event: 'run.completed', notification: hook.name, run: { id, agent: 'echo', status: 'completed', tags: [tag] } });
    expect(request!.headers['x-ao-delivery']).toBe(body.delivery_id);
    expect(request!.headers['x-ao-event']).toBe('run.completed');
    expect(request!.headers['content-type']).toBe('application/json');
    const delivery = await settledDelivery(hook.name, id);
    expect(delivery).toMatchObject({ id: body.delivery_id, status: 'delivered', attempts: 1, last_status_code: 200, event: 'run.completed' });
  });

  it('tries again after a 500 with the same delivery id and signature', async () => {
    const hook = await createNotification({ events: ['run.completed'], tags: [tag] });
    receiver.answer(hook.path, (attempt) => (attempt === 1 ? 500 : 200));
    const id = await echoRun(tag);
    const [first, second] = await received(hook.path, 2);
    expect(second!.headers['x-ao-delivery']).toBe(first!.headers['x-ao-delivery']);
    expect(second!.body).toBe(first!.body);
    expect(second!.headers['x-ao-signature-256']).toBe(hmac(hook.secret, second!.body));
    const delivery = await settledDelivery(hook.name, id);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 200 });
  });

  it('does not try again after a 400, and says why it gave up', async () => {
    const hook = await createNotification({ events: ['run.completed'], tags: [tag] });
    receiver.answer(hook.path, () => 400);
    const id = await echoRun(tag);
    const delivery = await settledDelivery(hook.name, id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 400 });
    expect(delivery.last_error).toContain('400');
    expect(receiver.to(hook.path)).toHaveLength(1);
  });

  it('sends nothing to a notification whose filter leaves the run out', async () => {
    const other = await createNotification({ events: ['run.completed'], tags: [tag], agents: ['not-echo'] });
    const disabled = await createNotification({ events: ['run.completed'], tags: [tag], enabled: false });
    const failedOnly = await createNotification({ events: ['run.failed'], tags: [tag] });
    const elsewhere = await createNotification({ events: ['run.completed'], tags: [uniqueTag('elsewhere')] });
    const matching = await createNotification({ events: ['run.completed'], tags: [tag], agents: ['echo'] });
    const id = await echoRun(tag);
    // The run workflow starts its end's notify workflow before it closes (its status reads completed before that).
    await stack.client.workflow.getHandle(runWorkflowId(id)).result();
    // The notify workflow of the run's end returns once every delivery it made has settled.
    const deliveries = await stack.client.workflow.getHandle(notifyWorkflowId(id, 'ended')).result() as Delivery[];
    const names = deliveries.map((delivery) => delivery.notification);
    expect(names).toContain(matching.name);
    for (const hook of [other, disabled, failedOnly, elsewhere]) {
      expect(names).not.toContain(hook.name);
      expect(receiver.to(hook.path)).toHaveLength(0);
    }
    expect(receiver.to(matching.path)).toHaveLength(1);
  });
});

describe('a notification for run.stopped', () => {
  it('is delivered when a run that no runner took is stopped', async () => {
    const tag = uniqueTag('nobody');
    const hook = await createNotification({ events: ['run.stopped'], tags: [tag] });
    const id = await stack.postRun({ agent: 'echo', prompt: 'never runs', additional_demands: { tags: [tag] } });
    expect((await api('POST', `/runs/${id}/stop?wait=true`)).status).toBe(200);
    const [request] = await received(hook.path);
    expect(JSON.parse(request!.body)).toMatchObject({ event: 'run.stopped', run: { id, status: 'stopped' } });
    expect(request!.headers['x-ao-signature-256']).toBe(hmac(hook.secret, request!.body));
  });
});

describe('a notification for approval_requested', () => {
  it('is delivered when a supervised Claude Code run asks for an approval, with the request', async () => {
    const turns: anthropic.Turn[] = [anthropic.callTool('Bash', { command: 'touch notified.txt', description: 'Create notified.txt' }), anthropic.reply('Done.')];
    const { endpoint, runners } = await startSupervisedClaude(stack, turns, { ask: supervisedConfig({ approval_timeout_seconds: 3600 }) });
    try {
      const hook = await createNotification({ events: ['approval_requested'], tags: [runners.ask.tag] });
      const id = await stack.postRun({ agent: 'coder', prompt: 'create notified.txt', additional_demands: { tags: [runners.ask.tag] } });
      const waiting = await stack.waitForRun(id, (run) => run.status === 'waiting_for_approval');
      const approval = waiting.approvals!.find((entry: Approval) => entry.status === 'pending')!;
      const [request] = await received(hook.path);
      expect(request!.headers['x-ao-signature-256']).toBe(hmac(hook.secret, request!.body));
      expect(request!.headers['x-ao-event']).toBe('approval_requested');
      expect(JSON.parse(request!.body)).toMatchObject({
        event: 'approval_requested',
        run: { id, agent: 'coder', status: 'waiting_for_approval' },
        approval: { id: approval.id, tool: 'Bash', command: 'touch notified.txt', rule: 'approval_required_tools: Bash' },
      });
      expect((await api('POST', `/runs/${id}/approvals/${approval.id}`, { body: { decision: 'allow' } })).status).toBe(200);
      const run = await stack.waitForRun(id);
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      expect(await fs.stat(path.join(runners.ask.projectDir, 'notified.txt')).then(() => true, () => false)).toBe(true);
    } finally {
      await endpoint.close();
    }
  });
});

describe('the notifications API', () => {
  it('refuses bad definitions with 400 and a reason', async () => {
    const base = { name: uniqueTag('bad'), url: 'https://hooks.example.test/ao', secret: 'a-secret-long-enough', events: ['run.completed'] };
    const refused: Array<[string, Record<string, unknown>]> = [
      ['a file URL', { ...base, url: 'file:///etc/passwd' }],
      ['a javascript URL', { ...base, url: 'javascript:alert(1)' }],
      ['not a URL', { ...base, url: 'not a url' }],
      ['credentials in the URL', { ...base, url: 'https://user:pass@hooks.example.test/' }],
      ['no secret', { ...base, secret: undefined }],
      ['a short secret', { ...base, secret: 'short' }],
      ['an unknown event', { ...base, events: ['run.exploded'] }],
      ['no event', { ...base, events: [] }],
      ['a name that is a path', { ...base, name: '../agents/echo' }],
      ['an unknown field', { ...base, headers: { a: 'b' } }],
    ];
    for (const [what, body] of refused) {
      const answer = await api<{ error: string; details?: { problems: string[] } }>('POST', '/notifications', { body });
      expect(answer.status, what).toBe(400);
      expect(answer.body.details?.problems?.length, what).toBeGreaterThan(0);
    }
    const listed = (await api<{ notifications: Array<{ name: string }> }>('GET', '/notifications')).body.notifications;
    expect(listed.map((entry) => entry.name)).not.toContain(base.name);
  });

  it('is managed by admins, read by anyone, audited, and never shows the secret', async () => {
    const hook = await createNotification({ events: ['run.completed', 'run.failed'], agents: ['echo'], description: 'team chat' });
    expect((await api('POST', '/notifications', { body: { name: hook.name, url: 'https://x.example.test/', secret: 'another-long-secret', events: ['run.failed'] } })).status).toBe(409);
    expect((await api('POST', '/notifications', { token: viewer, body: { name: uniqueTag('viewer'), url: 'https://x.example.test/', secret: 'another-long-secret', events: ['run.failed'] } })).status).toBe(403);
    expect((await api('PATCH', `/notifications/${hook.name}`, { token: viewer, body: { enabled: false } })).status).toBe(403);
    expect((await api('DELETE', `/notifications/${hook.name}`, { token: viewer })).status).toBe(403);

    const read = await api<NotificationView>('GET', `/notifications/${hook.name}`, { token: viewer });
    expect(read.body).toMatchObject({ name: hook.name, has_secret: true, events: ['run.completed', 'run.failed'], agents: ['echo'], enabled: true });
    expect(read.body).not.toHaveProperty('secret');
    expect((await api<{ notifications: NotificationView[] }>('GET', '/notifications', { token: viewer })).body.notifications.find((entry) => entry.name === hook.name)).not.toHaveProperty('secret');

    const newSecret = crypto.randomBytes(24).toString('hex');
    secrets.push(newSecret);
    const patched = await api<NotificationView>('PATCH', `/notifications/${hook.name}`, { body: { secret: newSecret, enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, has_secret: true, description: 'team chat', agents: ['echo'] });
    expect((await api('PATCH', `/notifications/${hook.name}`, { body: { url: 'gopher://old.example.test/' } })).status).toBe(400);
    expect((await api('PATCH', `/notifications/${hook.name}`, { body: {} })).status).toBe(400);
    expect((await api('PATCH', `/notifications/${hook.name}`, { body: { events: ['nope'] } })).status).toBe(400);
    expect((await api('GET', '/notifications/no-such-hook')).status).toBe(404);
    expect((await api('GET', '/notifications/no-such-hook/deliveries')).status).toBe(404);
    expect((await api('GET', `/notifications/${hook.name}/deliveries?limit=0`)).status).toBe(400);

    // The secret is kept where only the API's user may read it.
    const file = path.join(stack.configDir, 'notifications', `${hook.name}.json`);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ secret: newSecret });

    expect((await api('DELETE', `/notifications/${hook.name}`)).status).toBe(204);
    expect((await api('GET', `/notifications/${hook.name}`)).status).toBe(404);
    const audit = (await api<{ entries: AuditEntry[] }>('GET', '/audit?limit=1000')).body.entries.filter((entry) => entry.target === hook.name);
    expect(audit.map((entry) => entry.action)).toEqual(['notification.create', 'notification.update', 'notification.delete']);
    expect(audit[1]!.details).toEqual({ fields: ['enabled', 'secret'] });
  });

  it('shows a broken file with an error that does not quote it', async () => {
    const secret = `broken-${crypto.randomBytes(12).toString('hex')}`;
    secrets.push(secret);
    const name = uniqueTag('broken');
    await fs.writeFile(path.join(stack.configDir, 'notifications', `${name}.json`), `{"secret": "${secret}", oops`);
    expect((await api('GET', `/notifications/${name}`)).status).toBe(422);
    const listed = (await api<{ notifications: Array<{ name: string; error?: string }> }>('GET', '/notifications')).body.notifications.find((entry) => entry.name === name);
    expect(listed?.error).toContain('not valid JSON');
    await fs.rm(path.join(stack.configDir, 'notifications', `${name}.json`));
  });

  it('never answers with a secret', async () => {
    const everything = [...answers, JSON.stringify((await api('GET', '/audit?limit=1000')).body), JSON.stringify((await api('GET', '/openapi.json')).body)].join('\n');
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});

describe('deliveries and the API', () => {
  it('go on while the API is down, and are listed by the API that comes back', async () => {
    const tag = uniqueTag('restart');
    await stack.startRunner({ tags: [tag] });
    const hook = await createNotification({ events: ['run.completed'], tags: [tag] });
    let apiDown = false;
    let accepted = false;
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    // Refused until the API is gone: the attempt that is taken was made with no API running.
    receiver.answer(hook.path, () => {
      firstAttempt();
      if (!apiDown) return 500;
      accepted = true;
      return 200;
    });
    const id = await echoRun(tag);
    await attempted;
    await stack.processes.find((process) => process.name === 'api' && process.running)!.stop();
    apiDown = true;
    await eventually(() => {
      if (!accepted) throw new Error('the receiver has not taken a delivery yet');
    });
    const url = await stack.startApi();
    const delivery = await eventually(async () => {
      const { body } = await stack.api<{ deliveries: Delivery[] }>('GET', `/notifications/${hook.name}/deliveries`, { baseUrl: url });
      const found = body.deliveries.find((entry) => entry.run_id === id);
      if (found?.status !== 'delivered') throw new Error(JSON.stringify(found));
      return found;
    });
    expect(delivery.attempts).toBeGreaterThanOrEqual(2);
    expect(delivery.last_status_code).toBe(200);
    const taken = receiver.to(hook.path).at(-1)!;
    expect(taken.headers['x-ao-signature-256']).toBe(hmac(hook.secret, taken.body));
  });
});

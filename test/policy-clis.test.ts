import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/contract/events.js';
import type { RunView } from '../core/contract/http.js';
import * as gemini from './support/scripted-gemini.js';
import * as openai from './support/scripted-openai.js';
import { TestStack, eventually } from './support/stack.js';
import { startSupervisedCodex, supervisedCodexConfig } from './support/supervised-codex.js';
import { startSupervisedGemini, supervisedGeminiConfig } from './support/supervised-gemini.js';

/**
 * A run's policy holds for Codex and Gemini as for Claude Code: the runner judges every question
 * the CLI asks (over app-server and ACP), and a denied command never runs, without an operator.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.create();
});
afterAll(async () => {
  await stack?.stop();
});

const POLICY = { shell_deny: ['touch'] };

async function policyDenied(id: string): Promise<RunEvent> {
  return eventually(async () => {
    const { body } = await stack.api<{ events: RunEvent[] }>('GET', `/runs/${id}/events`);
    const denied = body.events.find((event) => event.kind === 'policy_denied');
    if (!denied) throw new Error('no policy_denied yet');
    return denied;
  });
}

describe('a run policy', () => {
  it('refuses a denied command to Codex, which never runs it', async () => {
    const turns: openai.Turn[] = [];
    const { endpoint, runners } = await startSupervisedCodex(stack, turns, (scripted) => ({ plain: supervisedCodexConfig(scripted, { approval_required_tools: [] }) }));
    try {
      turns.push(openai.runCommand('touch denied.txt'), openai.reply('It was refused.'));
      const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'codex-coder', prompt: 'make the file', policy: POLICY, additional_demands: { tags: [runners.plain.tag] } } });
      expect(body.status).toBe('completed');
      await expect(fs.stat(path.join(runners.plain.projectDir, 'denied.txt'))).rejects.toThrow();
      expect((await policyDenied(body.id)).data).toMatchObject({ command: 'touch denied.txt', rule: expect.stringContaining('shell_deny') as unknown });
      expect(JSON.stringify(endpoint.mainRequests.at(-1)!.body)).toContain("Refused by the run's policy");
      expect(body.approvals ?? []).toEqual([]);
    } finally {
      await endpoint.close();
    }
  });

  it('refuses a denied command to Gemini, which never runs it', async () => {
    const turns: gemini.Turn[] = [];
    const { endpoint, runners } = await startSupervisedGemini(stack, turns, { plain: supervisedGeminiConfig({ approval_required_tools: [] }) });
    try {
      turns.push(gemini.callTool('run_shell_command', { command: 'touch denied.txt' }), gemini.reply('It was refused.'));
      const { body } = await stack.api<RunView>('POST', '/runs?wait=true', { body: { agent: 'gemini-coder', prompt: 'make the file', policy: POLICY, additional_demands: { tags: [runners.plain.tag] } } });
      expect(body.status).toBe('completed');
      await expect(fs.stat(path.join(runners.plain.projectDir, 'denied.txt'))).rejects.toThrow();
      // Gemini's own policy engine, given the run's policy as a file, refuses it before it would ask ao.
      expect(JSON.stringify(endpoint.mainRequests.at(-1)!.body)).toMatch(/denied by policy|Refused by the run's policy/);
      expect(body.approvals ?? []).toEqual([]);
    } finally {
      await endpoint.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ExecutorConfigError, claudeArgs, claudeCodeAdapter, claudeEvents } from '../activities/executors/claude-code.js';
import { claudeConversation } from '../activities/executors/claude-control.js';
import { UnsupportedCommandError } from '../activities/executors/contract.js';
import type { ExecutorInvocation } from '../core/contract/executor-protocol.js';

const invocation = (config: Record<string, unknown>, extra: Partial<ExecutorInvocation> = {}): ExecutorInvocation => ({
  schema_version: '2.1',
  run_id: 'r1',
  agent: { name: 'coder', type: 'autonomous', system_prompt: 'Be brief.' },
  prompt: 'fix the bug',
  parameters: { seniority: 'senior' },
  executor_type: 'claude-code',
  executor_config: config,
  workspace_dir: '/work',
  ...extra,
});

describe('the claude command line', () => {
  it('drives a supervised profile over stream-json with permission prompts on stdio, the prompt on stdin', () => {
    const supervised = invocation({ approval_required_tools: ['Bash'] });
    const argv = claudeArgs(supervised, ['claude'], false);
    expect(argv.slice(0, 10)).toEqual([
      'claude', '-p', '--input-format', 'stream-json', '--permission-prompt-tool', 'stdio', '--output-format', 'stream-json', '--verbose', '--permission-mode',
    ]);
    expect(argv[10]).toBe('default');
    expect(argv).not.toContain('fix the bug');
    const plan = claudeCodeAdapter.plan(supervised, ['claude']);
    expect(JSON.parse(plan.stdin)).toEqual({ type: 'user', message: { role: 'user', content: 'fix the bug' } });
    expect(plan.supervision).toEqual({ requiredTools: ['Bash'], timeoutSeconds: 3600, onTimeout: 'deny' });
    expect(claudeCodeAdapter.plan(invocation({}), ['claude']).supervision).toBeUndefined();
  });

  it('makes every run a conversation over stream-json: the prompt on stdin, permission prompts on stdio only when supervised', () => {
    const plan = claudeCodeAdapter.plan(invocation({}), ['claude']);
    expect(plan.conversation).toBe(true);
    expect(plan.argv.slice(0, 4)).toEqual(['claude', '-p', '--input-format', 'stream-json']);
    expect(plan.argv).not.toContain('--permission-prompt-tool');
    expect(plan.argv).not.toContain('fix the bug');
    expect(JSON.parse(plan.stdin)).toEqual({ type: 'user', message: { role: 'user', content: 'fix the bug' } });
    expect(claudeCodeAdapter.capabilities).toMatchObject({ input: true, steer: true, interrupt: true });
  });

  it('passes the profile’s permission mode, model by seniority, tool rules, setting sources, turns and the session to resume', () => {
    const argv = claudeArgs(
      invocation(
        {
          permission_mode: 'acceptEdits',
          model: { junior: 'claude-haiku-4-5', senior: 'claude-sonnet-4-5' },
          allowed_tools: ['Read', 'Bash(npm test:*)'],
          disallowed_tools: ['WebFetch'],
          setting_sources: ['project'],
          max_turns: 7,
        },
        { session_id: 'abc' },
      ),
      ['claude'],
      false,
    );
    expect(argv).toEqual([
      'claude', '-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits',
      '--model', 'claude-sonnet-4-5', '--allowedTools', 'Read,Bash(npm test:*)', '--disallowedTools', 'WebFetch',
      '--setting-sources', 'project', '--append-system-prompt', 'Be brief.', '--max-turns', '7', '--resume', 'abc',
    ]);
  });

  it('says plainly that bypassPermissions is refused as root', () => {
    expect(() => claudeArgs(invocation({ permission_mode: 'bypassPermissions' }), ['claude'], true)).toThrow(ExecutorConfigError);
    expect(() => claudeArgs(invocation({ permission_mode: 'bypassPermissions' }), ['claude'], true)).toThrow(/refused by the claude CLI when the runner runs as root/);
    expect(claudeArgs(invocation({ permission_mode: 'bypassPermissions' }), ['claude'], false)).toContain('bypassPermissions');
  });

  it('names the seniorities it knows when a run asks for another', () => {
    expect(() => claudeArgs(invocation({ model: { junior: 'h' } }), ['claude'], false)).toThrow('no model for seniority "senior"; known: junior');
  });
});

describe('stream-json to ao events', () => {
  it('maps tool calls on files to file_touched, and tool results with their error flag', () => {
    const events = claudeEvents({
      type: 'assistant',
      message: { content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: 't1', name: 'Write', input: { file_path: '/w/a.txt', content: 'x' } }] },
    });
    expect(events.map((event) => event.kind)).toEqual(['message', 'tool_call', 'file_touched']);
    expect(events[2]!.data).toEqual({ path: '/w/a.txt', tool: 'Write', operation: 'write', tool_use_id: 't1' });
    const results = claudeEvents({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'denied' }] } });
    expect(results).toEqual([{ kind: 'tool_result', data: { tool_use_id: 't1', is_error: true, output: 'denied' } }]);
  });
});

describe('vendor API failures in the stream', () => {
  it('reports a failure the CLI gave up on as a model_error alert, not as the model’s message', () => {
    const line = { type: 'assistant', error: 'unknown', message: { model: '<synthetic>', usage: { input_tokens: 0, output_tokens: 0 }, content: [{ type: 'text', text: 'API Error: 529 Overloaded' }] } };
    expect(claudeEvents(line)).toEqual([{ kind: 'alert', data: { kind: 'model_error', message: 'API Error: 529 Overloaded', error: 'unknown' } }]);
  });

  it('reports a retry as an api_retry alert with its attempt, without the CLI’s own fields', () => {
    const line = { type: 'system', subtype: 'api_retry', attempt: 2, max_retries: 10, retry_delay_ms: 1200, error_status: 529, error: 'overloaded', uuid: 'u1', session_id: 's1' };
    expect(claudeEvents(line)).toEqual([
      { kind: 'alert', data: { kind: 'api_retry', message: 'model API error (HTTP 529), retrying 2 of 10', attempt: 2, max_attempts: 10, retry_in_ms: 1200, status: 529 } },
    ]);
  });
});

describe('the claude conversation', () => {
  const open = () => {
    const sent: unknown[] = [];
    let closed = 0;
    const conversation = claudeConversation(invocation({}), {
      send: (message) => sent.push(message),
      close: () => (closed += 1),
      ask: () => Promise.resolve({ behavior: 'allow' }),
      withdraw: () => undefined,
      emit: () => undefined,
    });
    return { conversation, sent, closed: () => closed };
  };
  const user = (text: string) => ({ type: 'user', message: { role: 'user', content: text } });

  it('sends input as a user line at once, and closes stdin at the result of a turn ao did not interrupt', () => {
    const { conversation, sent, closed } = open();
    expect(conversation.input!('mid-turn')).toEqual({ queued: false });
    expect(sent).toEqual([user('mid-turn')]);
    conversation.onLine({ type: 'result', subtype: 'success' });
    expect(closed()).toBe(1);
    expect(() => conversation.input!('late')).toThrow(UnsupportedCommandError);
  });

  it('keeps the session after an interrupted turn: input sent meanwhile is held for the next turn, which ends normally', () => {
    const { conversation, sent, closed } = open();
    conversation.interrupt!();
    expect(sent).toEqual([{ type: 'control_request', request_id: 'ao-interrupt-1', request: { subtype: 'interrupt' } }]);
    expect(() => conversation.interrupt!(), 'one interrupt at a time').toThrow(/no turn is running/);
    expect(conversation.input!('next')).toEqual({ queued: true });
    conversation.onLine({ type: 'control_response', response: { subtype: 'success', request_id: 'ao-interrupt-1' } });
    conversation.onLine({ type: 'result', subtype: 'error_during_execution', is_error: true });
    expect(closed(), 'the interrupted turn does not end the run').toBe(0);
    expect(sent.at(-1)).toEqual(user('next'));
    conversation.onLine({ type: 'result', subtype: 'success' });
    expect(closed()).toBe(1);
  });

  it('refuses an interrupt while the session waits for input', () => {
    const { conversation, closed } = open();
    conversation.interrupt!();
    conversation.onLine({ type: 'result', subtype: 'error_during_execution', is_error: true });
    expect(() => conversation.interrupt!()).toThrow('no turn is running: the session waits for input');
    expect(conversation.input!('go on')).toEqual({ queued: false });
    expect(closed()).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ExecutorConfigError } from '../activities/executors/cli-support.js';
import { codexAdapter, codexArgs, codexEvents, codexOutput, codexSession } from '../activities/executors/codex.js';
import type { CodexConfig } from '../core/contract/executor-profile.js';
import type { ExecutorInvocation } from '../core/contract/executor-protocol.js';

const invocation = (config: CodexConfig, extra: Partial<ExecutorInvocation<CodexConfig>> = {}): ExecutorInvocation<CodexConfig> => ({
  schema_version: '2.1',
  run_id: 'r1',
  agent: { name: 'codex-coder', type: 'autonomous', system_prompt: 'Be brief.' },
  prompt: 'fix the bug',
  parameters: {},
  executor_type: 'codex',
  executor_config: config,
  workspace_dir: '/work/run',
  ...extra,
});
const lines = (...objects: object[]): string => objects.map((object) => JSON.stringify(object)).join('\n');

describe('the codex app-server command line and session', () => {
  it('bounds the provider’s retries by max_vendor_retries, and refuses the bound without a declared provider', () => {
    const argv = codexArgs(invocation({ max_vendor_retries: 2, provider: { name: 'local', base_url: 'http://127.0.0.1:1/v1', request_max_retries: 7 } }), ['codex']);
    expect(argv).toContain('model_providers.ao={name="local", base_url="http://127.0.0.1:1/v1", request_max_retries=2, stream_max_retries=2}');
    expect(() => codexArgs(invocation({ max_vendor_retries: 2 }), ['codex'])).toThrow(/max_vendor_retries needs config.provider/);
  });

  it('starts codex app-server with the profile as -c overrides, each one argv element', () => {
    const argv = codexArgs(invocation({ model: 'gpt-5.5', reasoning_effort: 'high', provider: { name: 'local', base_url: 'http://127.0.0.1:1/v1' }, config: { 'odd key': 'a"b' } }), ['codex']);
    expect(argv).toEqual([
      'codex', 'app-server',
      '-c', 'model="gpt-5.5"',
      '-c', 'model_reasoning_effort="high"',
      '-c', 'model_provider="ao"',
      '-c', 'model_providers.ao={name="local", base_url="http://127.0.0.1:1/v1"}',
      '-c', 'odd key="a\\"b"',
    ]);
    expect(argv.join(' ')).not.toContain('fix the bug');
  });

  it('never asks in an unsupervised run, and asks about everything not on codex’s safe list in a supervised one', () => {
    expect(codexSession(invocation({}))).toEqual({ cwd: '/work/run', approvalPolicy: 'never', sandbox: 'workspace-write', prompt: 'Be brief.\n\nfix the bug' });
    const supervised = invocation({ approval_required_tools: ['exec_command'], sandbox: 'read-only' }, { session_id: 'thread-1' });
    expect(codexSession(supervised)).toMatchObject({ approvalPolicy: 'untrusted', sandbox: 'read-only', threadId: 'thread-1' });
    const plan = codexAdapter.plan(supervised, ['codex']);
    expect(plan).toMatchObject({ conversation: true, stdin: '', supervision: { requiredTools: ['exec_command'], onTimeout: 'deny' } });
    expect(codexAdapter.plan(invocation({}), ['codex'])).not.toHaveProperty('supervision');
  });

  it('refuses a supervised profile whose codex would ask about nothing, and a policy app-server does not take', () => {
    expect(() => codexAdapter.plan(invocation({ approvals: true, approval_policy: 'never' }), ['codex'])).toThrow(ExecutorConfigError);
    expect(() => codexAdapter.plan(invocation({ approval_policy: 'on-failure' }), ['codex'])).toThrow(/does not take approval_policy "on-failure"/);
    expect(() => codexAdapter.plan(invocation({}, { prompt: undefined }), ['codex'])).toThrow(/needs a prompt/);
  });
});

describe('the codex app-server stream', () => {
  it('keeps protocol answers and status notifications out of the events, but not the thread that starts the session', () => {
    expect(codexEvents({ id: 2, result: { thread: { id: 'thread-1' }, model: 'gpt-5.5' } })).toEqual([{ kind: 'session_started', data: { session_id: 'thread-1', model: 'gpt-5.5' } }]);
    expect(codexEvents({ id: 3, result: { turn: { id: 'turn-1' } } })).toEqual([]);
    expect(codexEvents({ method: 'thread/status/changed', params: { status: { type: 'idle' } } })).toEqual([]);
    expect(codexEvents({ method: 'item/agentMessage/delta', params: { delta: 'Hel' } })).toEqual([]);
    expect(codexEvents({ id: 0, method: 'item/commandExecution/requestApproval', params: {} })).toEqual([]);
    expect(codexEvents({ id: 2, error: { code: -32600, message: 'no rollout found' } })).toEqual([{ kind: 'alert', data: { kind: 'protocol_error', message: 'codex: no rollout found' } }]);
  });

  it('reports a patch as a call and a result, and its files as touched only once applied', () => {
    const item = { type: 'fileChange', id: 'call_1', changes: [{ path: '/w/a.txt', kind: { type: 'add' }, diff: 'x' }] };
    expect(codexEvents({ method: 'item/started', params: { item: { ...item, status: 'inProgress' } } })).toEqual([
      { kind: 'tool_call', data: { id: 'call_1', name: 'apply_patch', input: { changes: [{ path: '/w/a.txt', kind: 'add' }] } } },
    ]);
    expect(codexEvents({ method: 'item/completed', params: { item: { ...item, status: 'declined' } } })).toEqual([{ kind: 'tool_result', data: { tool_use_id: 'call_1', is_error: true, status: 'declined', output: 'patch declined: add /w/a.txt' } }]);
    expect(codexEvents({ method: 'item/completed', params: { item: { ...item, status: 'completed' } } }).map((event) => event.kind)).toEqual(['tool_result', 'file_touched']);
  });

  it('reports this call’s usage and the thread’s total apart', () => {
    const breakdown = (n: number) => ({ totalTokens: n + 20, inputTokens: n, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 20, reasoningOutputTokens: 0 });
    const [tick] = codexEvents({ method: 'thread/tokenUsage/updated', params: { tokenUsage: { last: breakdown(100), total: breakdown(300), modelContextWindow: 1000 } } });
    expect(tick).toMatchObject({
      kind: 'usage_tick',
      data: { scope: 'call', usage: { input_tokens: 100, output_tokens: 20, turns: 1, raw: { thread_total: { input_tokens: 300 }, model_context_window: 1000 } } },
    });
  });

  it('counts a resumed thread’s usage from its first turn on, not the earlier call the thread reports again on resume', () => {
    const breakdown = (n: number) => ({ totalTokens: n + 20, inputTokens: n, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 20, reasoningOutputTokens: 0 });
    const tokens = (last: number, total: number) => ({ method: 'thread/tokenUsage/updated', params: { tokenUsage: { last: breakdown(last), total: breakdown(total) } } });
    const stdout = lines(
      tokens(100, 300),
      { method: 'turn/started', params: { threadId: 't1', turn: { id: 'u1', status: 'inProgress' } } },
      tokens(1000, 1300),
      tokens(1000, 2300),
      { method: 'turn/completed', params: { threadId: 't1', turn: { id: 'u1', status: 'completed', error: null } } },
    );
    const output = codexOutput({ exitCode: 0, signal: null, stdout, stderr: '', aborted: false }, invocation({}));
    expect((output.result_data as { usage: unknown }).usage).toMatchObject({ input_tokens: 2000, output_tokens: 40, turns: 2, raw: { thread_total: { input_tokens: 2300 } } });
  });

  it('fails the run with the API’s own message when the turn fails, and with codex’s refusal when the thread cannot open', () => {
    const failedTurn = { method: 'turn/completed', params: { threadId: 't1', turn: { id: 'u1', status: 'failed', error: { message: JSON.stringify({ error: { message: 'the endpoint says no' } }) } } } };
    expect(codexOutput({ exitCode: 0, signal: null, stdout: lines(failedTurn), stderr: '', aborted: false }, invocation({}))).toEqual({ status: 'failed', error: 'codex: the endpoint says no', session_id: 't1' });
    const refused = lines({ id: 1, result: {} }, { id: 2, error: { code: -32600, message: 'no rollout found for thread id t9' } });
    expect(codexOutput({ exitCode: 0, signal: null, stdout: refused, stderr: '', aborted: false }, invocation({}))).toEqual({ status: 'failed', error: 'codex: no rollout found for thread id t9' });
    const interrupted = { method: 'turn/completed', params: { threadId: 't1', turn: { id: 'u1', status: 'interrupted', error: null } } };
    expect(codexOutput({ exitCode: 0, signal: null, stdout: lines(interrupted), stderr: '', aborted: false }, invocation({})).status).toBe('failed');
  });
});

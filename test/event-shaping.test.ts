import { describe, expect, it } from 'vitest';
import type { EventKind } from '../core/contract/events.js';
import { shapeEvents } from '../activities/execution/event-shaping.js';

const recorder = () => {
  const seen: Array<{ kind: EventKind; data: Record<string, unknown> }> = [];
  return { seen, emit: (kind: EventKind, data: Record<string, unknown>) => void seen.push({ kind, data }) };
};

describe('the run’s events as a user adds them up', () => {
  it('reports a touched file once, relative to the workspace, and only once its tool succeeded', () => {
    const { seen, emit } = recorder();
    const shaped = shapeEvents(emit, '/w/run');
    shaped.emit('file_touched', { path: '/w/run/src/a.ts', tool: 'Edit', operation: 'edit', tool_use_id: 't1' });
    expect(seen).toEqual([]);
    shaped.emit('tool_result', { tool_use_id: 't1', is_error: false, output: 'ok' });
    shaped.emit('file_touched', { path: '/w/run/src/b.ts', tool: 'Edit', tool_use_id: 't2' });
    shaped.emit('tool_result', { tool_use_id: 't2', is_error: true, output: 'String to replace not found' });
    // The diff after the run names the same file again: once is enough.
    shaped.emit('file_touched', { path: 'src/a.ts', added: 1, removed: 1 });
    shaped.emit('file_touched', { path: '../../etc/passwd', tool: 'Write' });
    expect(seen.filter((event) => event.kind === 'file_touched').map((event) => event.data)).toEqual([
      { path: 'src/a.ts', tool: 'Edit', operation: 'edit' },
      { path: '/etc/passwd', tool: 'Write', outside_workspace: true },
    ]);
    expect(shaped.toolErrors()).toEqual({ count: 1, last: 'String to replace not found' });
  });

  it('has nothing to say of a run whose tools all succeeded', () => {
    const shaped = shapeEvents(recorder().emit, '/w');
    shaped.emit('tool_result', { tool_use_id: 'x', is_error: false });
    expect(shaped.toolErrors()).toBeUndefined();
  });
});

describe('one session_started per run', () => {
  it('joins the runner’s spawn record with the executor’s own session, and drops the executor’s later ones', () => {
    const { seen, emit } = recorder();
    const shaped = shapeEvents(emit, '/w');
    shaped.expectSessionReport();
    shaped.emit('session_started', { pid: 42, attempt: 1, runner_id: 'r1' });
    shaped.emit('session_started', { session_id: 'cli-1', model: 'm' });
    shaped.emit('session_started', { session_id: 'cli-1', model: 'm' });
    shaped.emit('session_ended', { exit_code: 0 });
    expect(seen).toEqual([
      { kind: 'session_started', data: { pid: 42, attempt: 1, runner_id: 'r1', session_id: 'cli-1', model: 'm' } },
      { kind: 'session_ended', data: { exit_code: 0 } },
    ]);
  });

  it('still reports the spawn when the executor ends before reporting a session', () => {
    const { seen, emit } = recorder();
    const shaped = shapeEvents(emit, '/w');
    shaped.expectSessionReport();
    shaped.emit('session_started', { pid: 7 });
    shaped.emit('session_ended', { exit_code: 1 });
    expect(seen.map((event) => event.kind)).toEqual(['session_started', 'session_ended']);
  });
});

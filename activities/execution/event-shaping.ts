import path from 'node:path';
import type { Emit } from './context.js';

/** How many characters of the last failed tool's output the run's result keeps. */
const LAST_ERROR_CHARS = 500;

export interface ToolErrors {
  count: number;
  /** The output of the last tool use that failed. */
  last: string;
}

/**
 * The run's events as a user adds them up, whatever the executor reported: a file is touched
 * once, by its path relative to the workspace, and only once the tool that changed it succeeded
 * (an adapter marks a tool's `file_touched` with its `tool_use_id`; it waits for that tool's
 * result); failed tool uses are counted for the run's result; a run has one `session_started`.
 */
export function shapeEvents(emit: Emit, workspaceDir: string): { emit: Emit; toolErrors(): ToolErrors | undefined; expectSessionReport(): void } {
  const reported = new Set<string>();
  /** Set once the executor is known to report its own session: the runner's spawn record waits to join it. */
  let sessionReport: 'expected' | 'reported' | undefined;
  let spawn: Record<string, unknown> | undefined;
  const waiting = new Map<string, Array<Record<string, unknown>>>();
  let errors: ToolErrors | undefined;

  const touched = (data: Record<string, unknown>): void => {
    const where = typeof data.path === 'string' ? relativeToWorkspace(workspaceDir, data.path) : undefined;
    if (!where || reported.has(where.path)) return;
    reported.add(where.path);
    const { tool_use_id: _id, ...rest } = data;
    emit('file_touched', { ...rest, ...where });
  };

  const shaped: Emit = (kind, data) => {
    if (kind === 'session_started' && sessionReport) {
      // One session_started per run: the runner's (pid, attempt) joined with the executor's own (its session id).
      if (sessionReport === 'reported') return;
      if (typeof data.pid === 'number' && spawn === undefined) {
        spawn = data;
        return;
      }
      sessionReport = 'reported';
      emit(kind, { ...spawn, ...data });
      return;
    }
    if (kind === 'session_ended' && sessionReport === 'expected' && spawn) {
      sessionReport = 'reported';
      emit('session_started', spawn);
    }
    if (kind === 'file_touched') {
      const id = typeof data.tool_use_id === 'string' ? data.tool_use_id : undefined;
      if (id) waiting.set(id, [...(waiting.get(id) ?? []), data]);
      else touched(data);
      return;
    }
    if (kind === 'tool_result') {
      const id = typeof data.tool_use_id === 'string' ? data.tool_use_id : undefined;
      const held = id ? waiting.get(id) : undefined;
      if (id) waiting.delete(id);
      if (data.is_error === true) {
        const output = typeof data.output === 'string' ? data.output : JSON.stringify(data.output ?? '');
        errors = { count: (errors?.count ?? 0) + 1, last: output.slice(0, LAST_ERROR_CHARS) };
      } else {
        for (const file of held ?? []) touched(file);
      }
    }
    emit(kind, data);
  };
  return {
    emit: shaped,
    toolErrors: () => errors,
    expectSessionReport: () => {
      sessionReport ??= 'expected';
    },
  };
}

/** A tool's path as the run's diff names it: relative to the workspace; one outside it stays absolute and says so. */
function relativeToWorkspace(workspaceDir: string, file: string): { path: string; outside_workspace?: true } {
  const absolute = path.resolve(workspaceDir, file);
  const relative = path.relative(workspaceDir, absolute);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return { path: absolute, outside_workspace: true };
  return { path: relative.split(path.sep).join('/') };
}

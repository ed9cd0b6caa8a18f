import type { ExecutorEvent } from '../executors/contract.js';
import type { Emit } from './context.js';

/**
 * The executor's stdout as events: adapters that understand their executor's output report
 * structured events line by line with `parseLine` (a line split across chunks is joined first);
 * without one the output is terminal text. `onSession` hears the executor's own session id as
 * soon as it is reported.
 */
export function stdoutToEvents(parseLine: ((line: string) => ExecutorEvent[]) | undefined, emit: Emit, onSession: (sessionId: string) => void): (text: string) => void {
  if (!parseLine) return (text) => emit('terminal_chunk', { stream: 'stdout', text });
  let pendingLine = '';
  return (text) => {
    const lines = (pendingLine + text).split('\n');
    pendingLine = lines.pop() ?? '';
    for (const line of lines) {
      for (const event of parseLine(line)) {
        if (event.kind === 'session_started' && typeof event.data.session_id === 'string') onSession(event.data.session_id);
        emit(event.kind, event.data);
      }
    }
  };
}

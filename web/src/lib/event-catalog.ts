import type { EventKind, RunEvent, SessionEndOutcome } from '../../../core/contract/events';

export type Tone = 'info' | 'good' | 'warn' | 'bad' | 'muted';

interface EventPresentation {
  label: string;
  tone: (data: Record<string, unknown>) => Tone;
  /** One line that says what happened; the full data is one click away. */
  summary: (data: Record<string, unknown>) => string;
  /** Shown in the structured timeline (terminal output has its own view). */
  inTimeline: boolean;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value));
const clip = (value: string, length = 160): string => (value.length > length ? `${value.slice(0, length - 1)}…` : value);
const fixed = (tone: Tone) => (): Tone => tone;
const SESSION_END_TONES: Record<SessionEndOutcome, Tone> = { exited: 'good', stopped: 'warn', failed: 'bad', timed_out: 'bad' };

/** How the dashboard shows each event kind: the handler map is total over `EventKind`. */
export const EVENT_CATALOG: { [K in EventKind]: EventPresentation } = {
  session_started: {
    label: 'session started',
    tone: fixed('info'),
    summary: (data) =>
      [data.executor_type && `executor ${text(data.executor_type)}`, data.pid && `pid ${text(data.pid)}`, data.session_id && `session ${text(data.session_id)}`, data.model && `model ${text(data.model)}`]
        .filter(Boolean)
        .join(', '),
    inTimeline: true,
  },
  state_changed: {
    label: 'state',
    tone: fixed('muted'),
    summary: (data) => [text(data.phase).replaceAll('_', ' '), data.mode && `${text(data.mode)} workspace`, data.branch && `branch ${text(data.branch)}`].filter(Boolean).join(', '),
    inTimeline: true,
  },
  terminal_chunk: { label: 'output', tone: fixed('muted'), summary: (data) => clip(text(data.text)), inTimeline: false },
  message: { label: 'message', tone: fixed('info'), summary: (data) => clip(text(data.text)), inTimeline: true },
  file_touched: {
    label: 'file',
    tone: fixed('info'),
    summary: (data) =>
      [text(data.path), data.tool && `by ${text(data.tool)}`, typeof data.added === 'number' && `+${data.added} −${text(data.removed)}`].filter(Boolean).join(' '),
    inTimeline: true,
  },
  diff_summary: {
    label: 'diff',
    tone: fixed('info'),
    summary: (data) => `${text(data.files_changed)} files changed, +${text(data.added)} −${text(data.removed)}${data.branch ? ` on ${text(data.branch)}` : ''}`,
    inTimeline: true,
  },
  tool_call: {
    label: 'tool call',
    tone: fixed('info'),
    summary: (data) => `${text(data.name)} ${clip(text(data.input), 120)}`,
    inTimeline: true,
  },
  tool_result: {
    label: 'tool result',
    tone: (data) => (data.is_error === true ? 'bad' : 'good'),
    summary: (data) => `${data.is_error === true ? 'error: ' : ''}${clip(text(data.output), 140)}`,
    inTimeline: true,
  },
  approval_requested: { label: 'approval requested', tone: fixed('warn'), summary: (data) => clip(text(data.reason ?? data.tool ?? data)), inTimeline: true },
  approval_resolved: { label: 'approval', tone: fixed('info'), summary: (data) => clip(text(data.decision ?? data)), inTimeline: true },
  input_sent: {
    label: 'input',
    tone: fixed('info'),
    summary: (data) => `${data.by ? `${text(data.by)}: ` : ''}${clip(text(data.text))}${data.queued === true ? ' (queued until the turn ends)' : ''}`,
    inTimeline: true,
  },
  policy_denied: { label: 'policy denied', tone: fixed('warn'), summary: (data) => clip(`${text(data.tool)}: ${text(data.rule)}`), inTimeline: true },
  usage_tick: {
    label: 'usage',
    tone: fixed('muted'),
    summary: (data) => {
      const cost = typeof data.cost_usd === 'number' ? `$${data.cost_usd.toFixed(4)}` : '';
      const usage = data.usage && typeof data.usage === 'object' ? (data.usage as Record<string, unknown>) : {};
      const tokens = ['input_tokens', 'output_tokens'].filter((key) => typeof usage[key] === 'number').map((key) => `${key.replace('_tokens', '')} ${text(usage[key])}`);
      return [cost, ...tokens].filter(Boolean).join(', ') || clip(text(data.usage));
    },
    inTimeline: true,
  },
  hook_run: {
    label: 'hook',
    tone: (data) => (data.passed === false ? 'bad' : 'good'),
    summary: (data) => `${text(data.hook)} ${data.passed === false ? 'failed' : 'passed'}${typeof data.exit_code === 'number' ? ` (exit ${data.exit_code})` : ''}${data.timed_out === true ? ', timed out' : ''}`,
    inTimeline: true,
  },
  alert: { label: 'alert', tone: fixed('warn'), summary: (data) => clip(text(data.message), 240), inTimeline: true },
  session_ended: {
    label: 'session ended',
    tone: (data) => SESSION_END_TONES[data.outcome as SessionEndOutcome] ?? 'bad',
    summary: (data) =>
      [text(data.outcome), data.exit_code !== null && data.exit_code !== undefined && `exit ${text(data.exit_code)}`, data.signal && `signal ${text(data.signal)}`, typeof data.duration_ms === 'number' && `${(data.duration_ms / 1000).toFixed(1)}s`]
        .filter(Boolean)
        .join(', '),
    inTimeline: true,
  },
};

/** The newest reported cost of a run, from its usage events (the CLIs report running totals). */
export function latestCost(events: readonly RunEvent[]): number | undefined {
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const cost = events[index]!.data.cost_usd;
    if (events[index]!.kind === 'usage_tick' && typeof cost === 'number') return cost;
  }
  return undefined;
}

import crypto from 'node:crypto';
import type { ApprovalRequest } from '../../core/contract/approvals.js';
import type { RunnerCommand, RunnerCommandReply } from '../../core/contract/runner-commands.js';
import type { PolicyVerdict } from '../../core/contract/policy.js';
import type { Redactor } from '../../core/contract/secrets.js';
import type { ApprovalPolicy, PermissionAnswer, PermissionAsk } from '../executors/contract.js';
import type { Emit } from './context.js';

/** What the desk tells the run's workflow (fire-and-forget signals). */
export interface ApprovalReporter {
  requested(request: ApprovalRequest): void;
  withdrawn(approvalId: string, reason: string): void;
}

/** The run's clock: stopped while anything waits for a person. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

interface Waiting {
  key: string;
  ask: PermissionAsk;
  answer: (answer: PermissionAnswer) => void;
}

/** ao's own judgement of a permission request (the run's policy); unset when the run has none. */
export type PolicyJudge = (ask: PermissionAsk) => Promise<PolicyVerdict>;

/** What the model reads when the run's policy refuses a tool use. */
export const policyDenial = (rule: string): string => `Refused by the run's policy (${rule}). Do not try to get around it; do something else or say that you cannot.`;

/** The message a denied tool use gives the model when the operator wrote none. */
const DEFAULT_DENIAL = 'An operator denied this tool use.';
const MATCH_EVERY_TOOL = '*';

/**
 * The runner's side of a supervised run's approvals, for any CLI. The run's policy judges every
 * request first: denied (told to the CLI with the rule, a `policy_denied` event), allowed at once
 * (`shell_allow`), or put to a person with the policy's rule. Without an opinion from it, the
 * profile's tools decide (a tool it does not name, or one remembered earlier in the run, is
 * allowed at once); the rest waits for a person's decision, which arrives over the runner command
 * path. Its questions are shown redacted, like every event of the run.
 */
export class ApprovalDesk {
  private readonly waiting = new Map<string, Waiting>();
  /** `remember: true` decisions: a tool, or a shell tool's program (`Bash(touch:*)`). */
  private readonly remembered = new Set<string>();

  constructor(
    private readonly policy: ApprovalPolicy,
    private readonly deps: { emit: Emit; redactor: Redactor; reporter: ApprovalReporter; clock: Pausable; judge?: PolicyJudge },
  ) {}

  async ask(ask: PermissionAsk, key: string): Promise<PermissionAnswer> {
    const verdict: PolicyVerdict = this.deps.judge ? await this.deps.judge(ask) : { verdict: 'none' };
    const what = this.deps.redactor.value({ tool: ask.tool, ...(ask.command !== undefined ? { command: ask.command } : {}), ...(ask.files?.length ? { files: ask.files } : {}) });
    if (verdict.verdict === 'deny') {
      this.deps.emit('policy_denied', { ...what, rule: verdict.rule });
      return { behavior: 'deny', message: policyDenial(verdict.rule) };
    }
    if (verdict.verdict === 'allow') {
      this.deps.emit('approval_resolved', { ...what, decision: 'allow', reason: `allowed by the run's policy: ${verdict.rule}` });
      return { behavior: 'allow' };
    }
    const rule = verdict.verdict === 'ask' ? verdict.rule : this.ruleFor(ask.tool);
    if (!rule) return { behavior: 'allow' };
    return this.askWithRule(ask, key, rule);
  }

  /** Puts a question to a person under `rule`, unless an earlier `remember` already answered it. */
  askWithRule(ask: PermissionAsk, key: string, rule: string): Promise<PermissionAnswer> {
    const remembered = rememberedRule(ask);
    if (this.remembered.has(remembered)) {
      this.deps.emit('approval_resolved', { tool: ask.tool, decision: 'allow', reason: `remembered for this run: ${remembered}` });
      return Promise.resolve({ behavior: 'allow' });
    }
    const request: ApprovalRequest = this.deps.redactor.value({
      id: crypto.randomUUID(),
      tool: ask.tool,
      input: ask.input,
      ...(ask.command !== undefined ? { command: ask.command } : {}),
      ...(ask.files?.length ? { files: ask.files } : {}),
      rule,
      requested_at: new Date().toISOString(),
      timeout_seconds: this.policy.timeoutSeconds,
      on_timeout: this.policy.onTimeout,
    });
    return new Promise((answer) => {
      if (this.waiting.size === 0) this.deps.clock.pause();
      this.waiting.set(request.id, { key, ask, answer });
      this.deps.emit('approval_requested', { ...request });
      this.deps.reporter.requested(request);
    });
  }

  /** A decision from the run's workflow. */
  handle(command: Extract<RunnerCommand, { kind: 'approval_decision' }>): RunnerCommandReply {
    const waiting = this.waiting.get(command.approval_id);
    if (!waiting) return { delivered: false, reason: `approval ${command.approval_id} is not waiting on this runner` };
    this.settle(command.approval_id);
    if (command.decision === 'allow' && command.remember) this.remembered.add(rememberedRule(waiting.ask));
    this.deps.emit('approval_resolved', {
      approval_id: command.approval_id,
      tool: waiting.ask.tool,
      decision: command.decision,
      ...(command.by ? { by: command.by } : {}),
      ...(command.message ? { note: command.message } : {}),
      ...(command.remember ? { remember: true } : {}),
    });
    waiting.answer(command.decision === 'allow' ? { behavior: 'allow' } : { behavior: 'deny', message: command.message ?? DEFAULT_DENIAL });
    return { delivered: true };
  }

  /** The executor withdrew its question `key` (an interrupt). */
  withdraw(key: string, reason: string): void {
    for (const [id, waiting] of this.waiting) if (waiting.key === key) this.drop(id, reason);
  }

  /** The executor ended: nothing it asked can be answered any more. */
  close(reason: string): void {
    for (const id of [...this.waiting.keys()]) this.drop(id, reason);
  }

  private drop(id: string, reason: string): void {
    const waiting = this.waiting.get(id)!;
    this.settle(id);
    this.deps.emit('approval_resolved', { approval_id: id, tool: waiting.ask.tool, status: 'withdrawn', reason });
    this.deps.reporter.withdrawn(id, reason);
    waiting.answer({ behavior: 'deny', message: reason });
  }

  private settle(id: string): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.deps.clock.resume();
  }

  /** The profile's rule that leaves this tool to a person, in words; undefined when policy allows it. */
  private ruleFor(tool: string): string | undefined {
    const { requiredTools } = this.policy;
    if (requiredTools.includes(tool)) return `approval_required_tools: ${tool}`;
    if (requiredTools.includes(MATCH_EVERY_TOOL)) return 'approvals: every tool the executor asks about';
    return undefined;
  }
}

/** What `remember` allows again: the tool, or for a shell command the same program (its first word). */
function rememberedRule(ask: PermissionAsk): string {
  if (ask.command === undefined) return ask.tool;
  const program = ask.command.trim().split(/\s+/)[0] ?? '';
  return `${ask.tool}(${program}:*)`;
}

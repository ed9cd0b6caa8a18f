import type { SupervisionSettings } from '../../core/contract/executor-profile.js';
import type { MergedPolicy } from '../../core/contract/policy.js';
import type { ApprovalPolicy } from './contract.js';

/** @defaultValue of `approval_timeout_seconds`. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

/**
 * A supervised run's approval policy, for any CLI that asks ao; undefined when its runs are not
 * supervised. A run with a policy (`invocation.policy`) is supervised even when its profile names
 * no tools: the CLI must ask, so that ao's judge sees every tool use.
 */
export function approvalPolicyOf(config: SupervisionSettings, runPolicy?: MergedPolicy): ApprovalPolicy | undefined {
  const tools = config.approval_required_tools ?? [];
  if (!tools.length && config.approvals !== true && !runPolicy) return undefined;
  return {
    requiredTools: config.approvals === true ? ['*'] : tools,
    timeoutSeconds: config.approval_timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    onTimeout: config.on_approval_timeout ?? 'deny',
    ...(runPolicy ? { runPolicy } : {}),
  };
}

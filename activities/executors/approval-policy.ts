import type { SupervisionSettings } from '../../core/contract/executor-profile.js';
import type { ApprovalPolicy } from './contract.js';

/** @defaultValue of `approval_timeout_seconds`. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

/** A supervised profile's approval policy, for any CLI that asks ao; undefined when its runs are not supervised. */
export function approvalPolicyOf(config: SupervisionSettings): ApprovalPolicy | undefined {
  const tools = config.approval_required_tools ?? [];
  if (!tools.length && config.approvals !== true) return undefined;
  return {
    requiredTools: config.approvals === true ? ['*'] : tools,
    timeoutSeconds: config.approval_timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    onTimeout: config.on_approval_timeout ?? 'deny',
  };
}

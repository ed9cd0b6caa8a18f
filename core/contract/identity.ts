import { z } from 'zod';
import { Name } from './names.js';

/**
 * Who calls the API. Users hold a role; runners hold a runner credential that can only do what a
 * runner does on the API (post events for runs assigned to it, download script bundles).
 */

/** User roles, each allowed what the ones before it are. */
export const USER_ROLES = [
  /** Reads runs, events, the fleet and the configuration. */
  'viewer',
  /** Also starts and stops runs (and answers them, once approvals land). */
  'operator',
  /** Also changes agents, scripts and flows, and manages tokens. */
  'admin',
] as const;
export const UserRole = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRole>;

export const RUNNER_ROLE = 'runner';
export const CredentialRole = z.enum([...USER_ROLES, RUNNER_ROLE]);
export type CredentialRole = z.infer<typeof CredentialRole>;

/** An authenticated caller: the token's name is who did what in histories and the audit log. */
export interface Principal {
  name: string;
  role: CredentialRole;
}

/** `GET /whoami`. */
export const PrincipalView = z.object({ name: z.string(), role: CredentialRole });

export const roleAllows = (role: CredentialRole, needed: UserRole): boolean =>
  role !== RUNNER_ROLE && USER_ROLES.indexOf(role) >= USER_ROLES.indexOf(needed);

/** The token `npm start` writes to `.data/api-token` (or `AO_API_TOKEN`): the first admin. */
export const BOOTSTRAP_ADMIN = 'admin';

/** The runner credential `npm start` makes for its local runner. */
export const LOCAL_RUNNER_CREDENTIAL = 'local-runner';

/** `POST /tokens`. */
export const CreateTokenRequest = z.object({ name: Name, role: CredentialRole }).strict();
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

/** A token as listed: never its secret. */
export const TokenView = z.object({
  name: z.string(),
  role: CredentialRole,
  created_at: z.string(),
  created_by: z.string(),
  /** Built in (`.data/api-token` or `AO_API_TOKEN`): rotated by changing that, not revocable here. */
  builtin: z.boolean().optional(),
});
export type TokenView = z.infer<typeof TokenView>;

/** `POST /tokens` → 201: the secret, shown this once. */
export const CreatedToken = TokenView.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenList = z.object({ tokens: z.array(TokenView) });

/** One state change, who made it and when. */
export const AuditEntry = z.object({
  id: z.number().int().positive(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const AuditPage = z.object({ entries: z.array(AuditEntry), next_after: z.number().optional() });

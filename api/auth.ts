import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler, Response } from 'express';
import { ForbiddenError } from '../core/contract/errors.js';
import { RUNNER_ROLE, roleAllows, type Principal, type UserRole } from '../core/contract/identity.js';
import type { CredentialStore } from './credentials.js';
import type { RunCredentials } from './run-credentials.js';
import { MCP_PATH } from '../core/contract/mcp.js';
import { HttpError } from './errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../core/config/private-files.js';

/**
 * The API token: `AO_API_TOKEN` when set, else one generated once and kept in the data dir
 * (mode 0600), so `npm start` works out of the box and restarts keep the same token.
 */
export function resolveApiToken(envToken: string | undefined, dataDir: string): string {
  if (envToken) return envToken;
  const file = path.join(dataDir, 'api-token');
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    fs.chmodSync(file, PRIVATE_FILE_MODE); // a token file written before ao set its mode
    return token;
  } catch {
    fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const token = crypto.randomBytes(24).toString('base64url');
    fs.writeFileSync(file, `${token}\n`, { mode: PRIVATE_FILE_MODE });
    return token;
  }
}

/** The caller, set by `authenticate` on every request past it. */
export const principalOf = (res: Response): Principal => res.locals.principal as Principal;

/** The bearer token of a request, if it sent one. */
export const bearerToken = (header: string | undefined): string | undefined => /^Bearer (.+)$/i.exec(header ?? '')?.[1];

/**
 * Bearer-token auth against the credential store; the token never appears in logs or errors. A
 * run's own credential (api/run-credentials.ts) is valid at `/mcp` only: here it is refused with 403.
 */
export function authenticate(credentials: CredentialStore, runCredentials?: RunCredentials): RequestHandler {
  return (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    const runId = token ? runCredentials?.runOf(token) : undefined;
    if (runId) throw new ForbiddenError(`this is the credential of run ${runId}: it serves ao's MCP server at ${MCP_PATH} only`, 'a user or runner token');
    const principal = token ? credentials.authenticate(token) : undefined;
    if (!principal) throw new HttpError(401, 'missing or wrong API token (send "Authorization: Bearer <token>")');
    res.locals.principal = principal;
    next();
  };
}

/** Any valid token, a user's or a runner's. */
export const ANY_CREDENTIAL = 'any';

/** Who may call a route: users of at least a role, runners only, or any valid token. */
export type Access = UserRole | typeof RUNNER_ROLE | typeof ANY_CREDENTIAL;

/** Refuses a caller whose credential does not give `access`, naming what it needs. */
export function authorize(principal: Principal, access: Access): void {
  if (access === ANY_CREDENTIAL) return;
  if (access === RUNNER_ROLE) {
    if (principal.role !== RUNNER_ROLE) throw new ForbiddenError('this route is for runners: use a runner token', RUNNER_ROLE);
    return;
  }
  if (principal.role === RUNNER_ROLE) throw new ForbiddenError(`a runner token cannot do this: it needs a user token with role ${access}`, access);
  if (!roleAllows(principal.role, access)) throw new ForbiddenError(`token "${principal.name}" has role ${principal.role}; this needs ${access}`, access);
}

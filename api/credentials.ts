import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigConflictError, TokenNotFoundError } from '../core/contract/errors.js';
import { BOOTSTRAP_ADMIN, CredentialRole, RUNNER_ROLE, type CreatedToken, type Principal, type TokenView } from '../core/contract/identity.js';

/** A stored credential: its name, role and the SHA-256 of its secret (tokens are random, so a plain hash suffices). */
const StoredToken = z.object({ name: z.string(), role: CredentialRole, sha256: z.string(), created_at: z.string(), created_by: z.string() });
type StoredToken = z.infer<typeof StoredToken>;
const TokenFile = z.object({ tokens: z.array(StoredToken) });

const digest = (token: string): string => crypto.createHash('sha256').update(token).digest('hex');
/** Prefixed so a leaked one is easy to recognise (and to scan for). */
const newSecret = (): string => `ao_${crypto.randomBytes(24).toString('base64url')}`;

/**
 * Named tokens with a role, kept hashed in `<data dir>/tokens.json` (mode 0600), plus the built-in
 * bootstrap admin token. The file is read again when it changes, so API processes sharing a data
 * dir see each other's changes.
 */
export class CredentialStore {
  private cache: { mtimeMs: number; tokens: StoredToken[] } | undefined;
  private readonly bootstrap: { sha256: string; created_at: string };

  constructor(private readonly file: string, bootstrapToken: string) {
    this.bootstrap = { sha256: digest(bootstrapToken), created_at: new Date().toISOString() };
  }

  static inDataDir(dataDir: string, bootstrapToken: string): CredentialStore {
    return new CredentialStore(path.join(dataDir, 'tokens.json'), bootstrapToken);
  }

  /** The principal a presented token stands for; undefined for an unknown or revoked one. */
  authenticate(token: string): Principal | undefined {
    const hash = digest(token);
    if (crypto.timingSafeEqual(Buffer.from(hash), Buffer.from(this.bootstrap.sha256))) return { name: BOOTSTRAP_ADMIN, role: 'admin' };
    const found = this.read().find((stored) => stored.sha256 === hash);
    return found ? { name: found.name, role: found.role } : undefined;
  }

  list(): TokenView[] {
    return [
      { name: BOOTSTRAP_ADMIN, role: 'admin', created_at: this.bootstrap.created_at, created_by: 'ao', builtin: true },
      ...this.read().map(({ sha256: _secret, ...view }) => view),
    ];
  }

  create(name: string, role: CredentialRole, createdBy: string): CreatedToken {
    const tokens = this.read();
    if (name === BOOTSTRAP_ADMIN || tokens.some((stored) => stored.name === name)) throw new ConfigConflictError(`token "${name}" already exists`);
    const token = newSecret();
    const stored: StoredToken = { name, role, sha256: digest(token), created_at: new Date().toISOString(), created_by: createdBy };
    this.write([...tokens, stored]);
    const { sha256: _secret, ...view } = stored;
    return { ...view, token };
  }

  revoke(name: string): void {
    if (name === BOOTSTRAP_ADMIN) throw new ConfigConflictError(`token "${name}" is built in: change AO_API_TOKEN (or the data dir's api-token file) to rotate it`);
    const tokens = this.read();
    if (!tokens.some((stored) => stored.name === name)) throw new TokenNotFoundError(name);
    this.write(tokens.filter((stored) => stored.name !== name));
  }

  private read(): StoredToken[] {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch {
      return [];
    }
    if (this.cache?.mtimeMs !== mtimeMs) this.cache = { mtimeMs, tokens: TokenFile.parse(JSON.parse(fs.readFileSync(this.file, 'utf8'))).tokens };
    return this.cache.tokens;
  }

  private write(tokens: StoredToken[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const staging = `${this.file}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(staging, JSON.stringify({ tokens }, null, 2), { mode: 0o600 });
    fs.renameSync(staging, this.file);
    this.cache = undefined;
  }
}

/**
 * A runner token for a runner started beside the API (`npm start`'s local runner, tests), kept in
 * `file` (mode 0600) so restarts reuse it; made anew when the file is gone or its token revoked.
 */
export function localRunnerToken(store: CredentialStore, file: string, name: string): string {
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (store.authenticate(kept)?.role === RUNNER_ROLE) return kept;
  } catch {
    // None kept yet.
  }
  try {
    store.revoke(name);
  } catch (error) {
    if (!(error instanceof TokenNotFoundError)) throw error;
  }
  const { token } = store.create(name, RUNNER_ROLE, 'ao');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

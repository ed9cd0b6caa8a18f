import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../core/config/private-files.js';
import { isRunId } from '../core/contract/names.js';

/** Prefixed so a leaked one is recognised (and redacted: core/contract/secrets.ts knows the shape). */
export const RUN_CREDENTIAL_PREFIX = 'aor_';

/**
 * The credential an agent CLI gets for ao's MCP server: `aor_<run id>.<HMAC-SHA256 of the run id>`,
 * keyed by a secret kept in the API's data dir (mode 0600). Derived, so nothing is stored per run;
 * it names its run, and the MCP server accepts it only while that run is live, so it ends with the
 * run. It is no user token: every other route refuses it.
 */
export class RunCredentials {
  constructor(private readonly secret: Buffer) {}

  /** The secret from `<data dir>/run-credential-secret`, made once. */
  static inDataDir(dataDir: string): RunCredentials {
    const file = path.join(dataDir, 'run-credential-secret');
    try {
      return new RunCredentials(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url'));
    } catch (error) {
      // Only a missing secret is made here; one that cannot be read is an error, not a loop.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
      const secret = crypto.randomBytes(32);
      // `wx`: two API processes starting together keep the one written first.
      try {
        fs.writeFileSync(file, `${secret.toString('base64url')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        return RunCredentials.inDataDir(dataDir);
      }
      return new RunCredentials(secret);
    }
  }

  tokenFor(runId: string): string {
    return `${RUN_CREDENTIAL_PREFIX}${runId}.${this.mac(runId)}`;
  }

  /** Whether `token` looks like a run credential at all (then it is refused outside /mcp, valid or not). */
  static looksLike(token: string): boolean {
    return token.startsWith(RUN_CREDENTIAL_PREFIX);
  }

  /** The run a presented credential stands for; undefined when it is not one of ours. */
  runOf(token: string): string | undefined {
    if (!RunCredentials.looksLike(token)) return undefined;
    const body = token.slice(RUN_CREDENTIAL_PREFIX.length);
    const dot = body.lastIndexOf('.');
    const runId = body.slice(0, dot);
    if (dot < 1 || !isRunId(runId)) return undefined;
    const given = Buffer.from(body.slice(dot + 1));
    const expected = Buffer.from(this.mac(runId));
    return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? runId : undefined;
  }

  private mac(runId: string): string {
    return crypto.createHmac('sha256', this.secret).update(`ao-run-credential\0${runId}`).digest('base64url');
  }
}

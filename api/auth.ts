import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
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

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** Bearer-token auth; the token never appears in logs or errors. */
export function requireToken(token: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match || !sameSecret(match[1]!, token)) throw new HttpError(401, 'missing or wrong API token (send "Authorization: Bearer <token>")');
    next();
  };
}

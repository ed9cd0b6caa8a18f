import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../core/contract/errors.js';
import { defaultDataDir } from '../core/config/paths.js';
import { CliError } from './errors.js';

/** Where `npm start` serves the API. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8787';

/** The file `npm start` (the API) keeps the first admin's token in, inside its data dir. */
const API_TOKEN_FILE = 'api-token';

/** The CLI's environment: the same names the runner and the API use for the API's address and a token. */
const CliEnv = z.object({
  AO_API_URL: z.string().min(1).optional(),
  AO_API_TOKEN: z.string().min(1).optional(),
  /** The config file; default `$XDG_CONFIG_HOME/ao/config.json` (`~/.config/ao/config.json`). */
  AO_CONFIG: z.string().min(1).optional(),
  AO_DATA_DIR: z.string().min(1).optional(),
  XDG_CONFIG_HOME: z.string().min(1).optional(),
});

/** `~/.config/ao/config.json`: it may hold a token, so it must be its owner's only. */
export const CliConfigFile = z.object({ api_url: z.string().min(1).optional(), token: z.string().min(1).optional() }).strict();
export type CliConfigFile = z.infer<typeof CliConfigFile>;

export interface ConnectionFlags {
  apiUrl?: string;
  token?: string;
}

export interface Connection {
  apiUrl: string;
  /** Undefined when none was found: calls then get the API's 401, named with where a token may come from. */
  token: string | undefined;
  /** Where the token came from, for error messages (never the token itself). */
  tokenSource: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function configFilePath(env: z.infer<typeof CliEnv>): { file: string; explicit: boolean } {
  if (env.AO_CONFIG) return { file: path.resolve(env.AO_CONFIG), explicit: true };
  return { file: path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'ao', 'config.json'), explicit: false };
}

/** Reads the config file; missing is fine unless AO_CONFIG named it. Refused when others may read it or another user owns it. */
function readConfigFile(file: string, explicit: boolean): CliConfigFile {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new CliError(`cannot read the config file ${file} (AO_CONFIG): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!stat.isFile()) throw new CliError(`the config file ${file} is not a file`);
  // It may hold a token: group or others reading it, or another owner, is refused rather than warned about.
  if ((stat.mode & 0o077) !== 0) {
    throw new CliError(`the config file ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); make it yours only: chmod 600 ${file}`);
  }
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) throw new CliError(`the config file ${file} belongs to another user`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`the config file ${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = CliConfigFile.safeParse(raw);
  if (!parsed.success) throw new CliError(`the config file ${file} is invalid: ${describeIssues(parsed.error.issues).join('; ')}`);
  return parsed.data;
}

function readTokenFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function checkedUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${source}: "${url}" is not a URL (e.g. ${DEFAULT_API_URL})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`${source}: the API URL must be http:// or https://`);
  return url.replace(/\/+$/, '');
}

/**
 * The API's URL and token, each from the first that has it: flags, environment, config file.
 * With no token anywhere and an API on this machine, the token `npm start` wrote into this
 * checkout's data dir (`.data/api-token`, or `$AO_DATA_DIR/api-token`); never for another host,
 * so a local admin token is not sent elsewhere.
 */
export function resolveConnection(flags: ConnectionFlags, processEnv: NodeJS.ProcessEnv = process.env): Connection {
  const env = CliEnv.parse(Object.fromEntries(Object.entries(processEnv).filter(([, value]) => value !== '')));
  const { file, explicit } = configFilePath(env);
  const config = readConfigFile(file, explicit);
  const [url, urlSource] = flags.apiUrl
    ? [flags.apiUrl, '--api-url']
    : env.AO_API_URL
      ? [env.AO_API_URL, 'AO_API_URL']
      : config.api_url
        ? [config.api_url, file]
        : [DEFAULT_API_URL, 'the default'];
  const apiUrl = checkedUrl(url, urlSource);
  if (flags.token) return { apiUrl, token: flags.token, tokenSource: '--token' };
  if (env.AO_API_TOKEN) return { apiUrl, token: env.AO_API_TOKEN, tokenSource: 'AO_API_TOKEN' };
  if (config.token) return { apiUrl, token: config.token, tokenSource: file };
  const tokenFile = path.join(env.AO_DATA_DIR ?? defaultDataDir, API_TOKEN_FILE);
  const local = LOOPBACK_HOSTS.has(new URL(apiUrl).hostname) ? readTokenFile(tokenFile) : undefined;
  if (local) return { apiUrl, token: local, tokenSource: tokenFile };
  return { apiUrl, token: undefined, tokenSource: `none (give --token, AO_API_TOKEN, or "token" in ${file}; for an API on this machine ${tokenFile} is read)` };
}

import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isExecutableFile as isExecutable } from '../core/config/files.js';

/** The last Temporal CLI release that `go install` can build (later ones carry a `replace` directive). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Built tools live outside the clone, so every fresh clone on this machine reuses them. */
export function defaultToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AO_TOOLS_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ao', 'tools');
}


async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function run(argv: string[], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const [command, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else {
        log(output);
        reject(new Error(`${argv.join(' ')} exited with code ${code}`));
      }
    });
  });
}

export interface FindCliOptions {
  env?: NodeJS.ProcessEnv;
  toolsDir?: string;
  /** Build the CLI with Go when it is nowhere to be found (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

/**
 * Finds the Temporal CLI: `TEMPORAL_CLI`, then `temporal` on PATH, then the tools dir;
 * else builds it there with `go install` (a few minutes, once per machine).
 */
export async function findTemporalCli(options: FindCliOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  if (env.TEMPORAL_CLI) {
    if (await isExecutable(env.TEMPORAL_CLI)) return env.TEMPORAL_CLI;
    throw new Error(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file`);
  }
  const fromPath = await onPath('temporal', env);
  if (fromPath) return fromPath;
  const toolsDir = options.toolsDir ?? defaultToolsDir(env);
  const installed = path.join(toolsDir, 'temporal');
  if (await isExecutable(installed)) return installed;
  if (options.install === false) throw new Error(`Temporal CLI not found (TEMPORAL_CLI, PATH, ${installed}); run: npm run temporal:install`);

  const go = await onPath('go', env);
  if (!go) throw new Error('Temporal CLI not found and Go is not installed to build it: install Go, or set TEMPORAL_CLI');
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${toolsDir} (once per machine; a few minutes)…`);
  await fs.mkdir(toolsDir, { recursive: true });
  // Build into a private folder, then rename: a concurrent or interrupted build never leaves a half-written binary.
  const staging = await fs.mkdtemp(path.join(toolsDir, '.build-'));
  try {
    await run([go, 'install', `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], { ...env, GOBIN: staging, CGO_ENABLED: '0' }, log);
    await fs.rename(path.join(staging, 'temporal'), installed);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  log(`Temporal CLI installed: ${installed}`);
  return installed;
}

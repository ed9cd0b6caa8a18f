import path from 'node:path';
import { isExecutableFile as isExecutable } from '../core/config/files.js';
import { buildIntoPlace, defaultToolsDir, findGo, onPath, runTool } from './tools.js';

export { defaultToolsDir } from './tools.js';

/** The last Temporal CLI release that `go install` can build (later ones carry a `replace` directive). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

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

  const go = await findGo(env, 'Temporal CLI not found (set TEMPORAL_CLI to use one)');
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${toolsDir} (once per machine; a few minutes)…`);
  await buildIntoPlace(installed, async (staging) => {
    await runTool([go, 'install', `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], { env: { ...env, GOBIN: staging, CGO_ENABLED: '0' }, log });
    return path.join(staging, 'temporal');
  });
  log(`Temporal CLI installed: ${installed}`);
  return installed;
}

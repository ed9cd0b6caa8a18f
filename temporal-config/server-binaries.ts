import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isExecutableFile } from '../core/config/files.js';
import { buildIntoPlace, defaultToolsDir, findGo, runTool } from './tools.js';

/** The server release the CLI (TEMPORAL_CLI_VERSION) embeds: the same server behind the dev server and in production. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const SERVER_MODULE = 'go.temporal.io/server';

/** The two programs of a Temporal server install, built from one module source. */
export interface TemporalServerBinaries {
  /** `temporal-server`: every service of the cluster (`start --service …`). */
  server: string;
  /** `temporal-sql-tool`: creates the databases and applies the schemas it embeds. */
  sqlTool: string;
}

/** Package → installed name; `go build -o <dir>/` names each binary after its package folder. */
const PROGRAMS = {
  server: { pkg: './cmd/server', built: 'server', installed: 'temporal-server' },
  sqlTool: { pkg: './cmd/tools/sql', built: 'sql', installed: 'temporal-sql-tool' },
} as const satisfies Record<keyof TemporalServerBinaries, { pkg: string; built: string; installed: string }>;

export interface FindServerOptions {
  env?: NodeJS.ProcessEnv;
  toolsDir?: string;
  /** Build the server with Go when it is not in the tools dir yet (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

const binariesIn = (dir: string): TemporalServerBinaries => ({
  server: path.join(dir, PROGRAMS.server.installed),
  sqlTool: path.join(dir, PROGRAMS.sqlTool.installed),
});

/** The folder of one server version in the tools dir. */
export const serverInstallDir = (toolsDir: string): string => path.join(toolsDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);

/** What `go mod download -json` says about a module; `Dir` is its (read-only) source in the module cache. */
const ModuleDownload = z.object({ Dir: z.string().min(1), Error: z.string().optional() });

/**
 * Finds the Temporal server and its SQL tool in the tools dir, else builds both there from the
 * module source (several minutes, once per machine): `go install` cannot build them, so the source
 * is copied out of the read-only module cache and built in place (its go.mod has no `replace`).
 */
export async function findTemporalServer(options: FindServerOptions = {}): Promise<TemporalServerBinaries> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  const installDir = serverInstallDir(options.toolsDir ?? defaultToolsDir(env));
  const installed = binariesIn(installDir);
  if ((await isExecutableFile(installed.server)) && (await isExecutableFile(installed.sqlTool))) return installed;
  if (options.install === false) throw new Error(`Temporal server not found in ${installDir}; run: npm run temporal:install-server`);

  const go = await findGo(env, `Temporal server ${TEMPORAL_SERVER_VERSION} not found in ${installDir}`);
  log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool with Go into ${installDir} (once per machine; several minutes)…`);
  const goEnv = { ...env, CGO_ENABLED: '0' };
  await buildIntoPlace(installDir, async (staging) => {
    const download = ModuleDownload.parse(
      JSON.parse(await runTool([go, 'mod', 'download', '-json', `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`], { env: goEnv, log })),
    );
    if (download.Error) throw new Error(`go mod download ${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}: ${download.Error}`);
    const source = path.join(staging, 'source');
    await fs.cp(download.Dir, source, { recursive: true });
    await makeWritable(source);
    const bin = path.join(staging, 'bin');
    await fs.mkdir(bin);
    // -trimpath keeps the staging folder's path out of the binaries' logs; -s -w drop debug info (a third of the size).
    await runTool(
      [go, 'build', '-trimpath', '-ldflags=-s -w', '-o', `${bin}${path.sep}`, ...Object.values(PROGRAMS).map((program) => program.pkg)],
      { env: goEnv, cwd: source, log },
    );
    for (const program of Object.values(PROGRAMS)) await fs.rename(path.join(bin, program.built), path.join(bin, program.installed));
    return bin;
  });
  log(`Temporal server installed: ${installed.server}, ${installed.sqlTool}`);
  return installed;
}

/** The module cache hands out read-only files; the build (and the cleanup after it) must be able to write. */
async function makeWritable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(entryPath);
    else if (entry.isFile()) await fs.chmod(entryPath, 0o644);
  }
}

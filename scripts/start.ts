import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { resolveApiToken } from '../api/auth.js';
import { CredentialStore, localRunnerToken } from '../api/credentials.js';
import { LOCAL_RUNNER_CREDENTIAL } from '../core/contract/identity.js';
import { parseEnv } from '../core/config/env.js';
import { defaultDataDir, defaultStartWorkspace, repoRoot } from '../core/config/paths.js';
import { ensureExecutorUser } from '../activities/containment/executor-user.js';
import { ensurePrivateDir } from '../core/config/private-files.js';
import { findTemporalCli } from '../temporal-config/cli.js';
import { startDevServer, type DevServer } from '../temporal-config/dev-server.js';
import { ensureNamespace } from '../temporal-config/namespace.js';
import { TemporalEnv, connectTemporal, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { ensureDashboardBuilt } from '../web/build.js';
import { supervise } from './supervisor.js';

/**
 * `npm start`: the whole system on one machine with embedded defaults. A Temporal dev server
 * (SQLite under .data/, UI on :8233) unless TEMPORAL_ADDRESS points elsewhere, the control
 * worker, the API and one local runner, each its own process: one that crashes is restarted
 * (with a growing delay while it keeps crashing); only Ctrl-C or SIGTERM stops them all.
 */
const StartEnv = z.object({
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  AO_DATA_DIR: z.string().default(defaultDataDir),
  AO_TEMPORAL_PORT: z.coerce.number().int().positive().default(7233),
  AO_TEMPORAL_UI_PORT: z.coerce.number().int().positive().default(8233),
  AO_API_PORT: z.coerce.number().int().positive().default(8787),
  AO_API_TOKEN: z.string().optional(),
  AO_RUNNER_PROFILE: z.string().default('echo'),
  /** The local runner's project folder: outside the data dir, which holds the tokens. */
  AO_START_WORKSPACE: z.string().default(defaultStartWorkspace),
});

const colors = { control: 35, api: 36, runner: 33 } as const;

function launch(name: keyof typeof colors, script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = process.stdout.isTTY ? `\x1b[${colors[name]}m[${name}]\x1b[0m ` : `[${name}] `;
  const relay = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) stream.write(`${prefix}${line}\n`);
  };
  child.stdout?.on('data', relay(process.stdout));
  child.stderr?.on('data', relay(process.stderr));
  return child;
}

const startLog = (line: string): void => console.log(`${process.stdout.isTTY ? '\x1b[2m[start]\x1b[0m' : '[start]'} ${line}`);

/** On an existing server, register the ao search attributes if we may; a managed cluster may refuse. */
async function prepareExistingNamespace(): Promise<void> {
  const settings = temporalSettingsFromEnv(parseEnv(TemporalEnv, process.env, 'npm start'));
  const connection = await connectTemporal(settings);
  try {
    await ensureNamespace(connection, settings.namespace);
  } catch (error) {
    console.warn(`could not prepare namespace ${settings.namespace} (register the ao search attributes by hand): ${String(error)}`);
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const env = parseEnv(StartEnv, process.env, 'npm start');
  let server: DevServer | undefined;
  let address = env.TEMPORAL_ADDRESS;
  let uiUrl = process.env.AO_TEMPORAL_UI_URL;
  if (!address) {
    const cli = await findTemporalCli();
    server = await startDevServer({
      cli,
      dataDir: path.join(env.AO_DATA_DIR, 'temporal'),
      port: env.AO_TEMPORAL_PORT,
      uiPort: env.AO_TEMPORAL_UI_PORT,
      namespace: env.TEMPORAL_NAMESPACE,
    });
    address = server.address;
    uiUrl = server.uiUrl;
  } else {
    await prepareExistingNamespace();
  }
  // The data dir holds the token file (0600, resolveApiToken): both their owner's only.
  await ensurePrivateDir(env.AO_DATA_DIR);
  // Creates the token file now, so the curl line below works as printed.
  const token = resolveApiToken(env.AO_API_TOKEN, env.AO_DATA_DIR);
  // The local runner gets a runner credential of its own: it can post its runs' events, nothing a user can.
  const runnerToken = localRunnerToken(CredentialStore.inDataDir(env.AO_DATA_DIR, token), path.join(env.AO_DATA_DIR, 'runner-token'), LOCAL_RUNNER_CREDENTIAL);
  // The API serves web/dist under /ui/; a failed build leaves the API usable without the dashboard.
  const dashboard = await ensureDashboardBuilt().then(
    () => `http://127.0.0.1:${env.AO_API_PORT}/ui/#token=${encodeURIComponent(token)}`,
    (error: unknown) => `not built (${error instanceof Error ? error.message : String(error)}): run npm run web:build`,
  );
  const workspace = path.resolve(env.AO_START_WORKSPACE);
  await fs.mkdir(workspace, { recursive: true });
  // As root the runner runs executors as an unprivileged user: made here if missing, so the quick start needs no step.
  startLog(await ensureExecutorUser());
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE,
    AO_DATA_DIR: env.AO_DATA_DIR,
    AO_API_PORT: String(env.AO_API_PORT),
    ...(uiUrl ? { AO_TEMPORAL_UI_URL: uiUrl } : {}),
    // npm start is for a person: its children's lines are relayed with a prefix, in the human format, unless asked otherwise.
    AO_LOG_FORMAT: process.env.AO_LOG_FORMAT || 'text',
  };
  const children = [
    supervise('control', () => launch('control', 'workers/control.ts', [], childEnv), startLog),
    supervise('api', () => launch('api', 'api/server.ts', [], childEnv), startLog),
    // The local runner works in a folder of its own, not in this checkout and not in the data dir.
    supervise(
      'runner',
      () =>
        launch('runner', 'workers/runner.ts', ['--profile', env.AO_RUNNER_PROFILE, '--project-dir', workspace], {
          ...childEnv,
          AO_API_URL: `http://127.0.0.1:${env.AO_API_PORT}`,
          AO_API_TOKEN: runnerToken,
          AO_RUNNER_DATA_DIR: path.join(env.AO_DATA_DIR, 'runner'),
        }),
      startLog,
    ),
  ];

  console.log(
    [
      '',
      'ao is starting:',
      `  Temporal     ${address} (namespace ${env.TEMPORAL_NAMESPACE})${server ? `, data in ${path.join(env.AO_DATA_DIR, 'temporal')}` : ''}`,
      `  Temporal UI  ${uiUrl ?? '(external server: see its own UI)'}`,
      `  Dashboard    ${dashboard}`,
      `  API          http://127.0.0.1:${env.AO_API_PORT}  (token in ${path.join(env.AO_DATA_DIR, 'api-token')})`,
      `  Runner       profile ${env.AO_RUNNER_PROFILE}, working in ${workspace}`,
      '',
      `  Try: curl -s -X POST http://127.0.0.1:${env.AO_API_PORT}/runs -H "Authorization: Bearer $(cat ${path.relative(process.cwd(), path.join(env.AO_DATA_DIR, 'api-token'))})" \\`,
      `         -H 'Content-Type: application/json' -d '{"agent":"echo","prompt":"hello"}'`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  let stopping: Promise<void> | undefined;
  const stopAll = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      console.log(`stopping (${reason})…`);
      await Promise.all(children.map((child) => child.stop()));
      await server?.stop();
      console.log('all stopped');
    })());
  // `on`, not `once`: Ctrl-C reaches us twice through npm and tsx, and a second signal must not kill us mid-cleanup.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll(signal).then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defaultProfilesDir } from '../core/config/paths.js';
import { DEFAULT_PROFILE_NAME } from '../core/config/profiles.js';
import { CONTAINMENT_MODES } from '../activities/containment/containment.js';
import { Tag } from '../core/contract/names.js';
import { LOG_FORMATS } from '../core/observability/logger.js';

export const RUNNER_HELP = `Usage: npm run runner -- [options]
       tsx workers/runner.ts [options]

Starts a runner: a Temporal worker on this machine that executes runs with one executor profile.

Options (each also read from the environment variable shown):
  --profile NAME             executor profile from profiles/<NAME>.json           AO_RUNNER_PROFILE
                             (default: built-in "${DEFAULT_PROFILE_NAME}" with an empty config)
  --profile-list             list the available profiles and exit
  --tags a,b                 tags this runner offers to matching                 AO_RUNNER_TAGS
  --require-matching-tags    take only runs that demand a tag this runner has     AO_RUNNER_REQUIRE_MATCHING_TAGS=true
  --project-dir DIR          folder the runs work in (default: current folder)    AO_RUNNER_PROJECT_DIR
  --capacity N               runs executed at once (default: 1)                   AO_RUNNER_CAPACITY
  --drain-seconds N          on SIGTERM, how long running runs may finish (30)    AO_RUNNER_DRAIN_SECONDS
  --profiles-dir DIR         where profiles live (default: the repo's profiles/)  AO_PROFILES_DIR
  --api-url URL              the ao API that receives run events                  AO_API_URL
                             (its token: AO_API_TOKEN; unset keeps events in the spool)
  --forge-remote NAME        the git remote a run's missing base commit is         AO_FORGE_REMOTE
                             fetched from (default: origin); its token only from
                             AO_FORGE_TOKEN, sent as an HTTP header the executor
                             never sees
  --data-dir DIR             event spool and runner state (default: <project>/.ao) AO_RUNNER_DATA_DIR
  --containment MODE         how a run's processes are held: cgroup (one cgroup    AO_RUNNER_CONTAINMENT
                             v2 per run), process-group (process group + /proc
                             scan), auto (default: cgroup where this process may
                             make one, else process-group)
  --executor-user NAME       the unprivileged user a root runner runs executors    AO_EXECUTOR_USER
                             as (default: ao-executor, made by npm run
                             executor-user:install; "root" keeps them root, unsafe)
  --hooks-dir DIR            global hooks: pre_run, post_run, health_check         AO_HOOKS_DIR
                             (a profile's "lifecycle": {"hooks_dir"} adds its own)
  --hook-timeout N           seconds a hook may take (default: 60)                 AO_HOOK_TIMEOUT_SECONDS
  --health-interval N        seconds between health_check hook runs (default: 30)  AO_HEALTH_CHECK_SECONDS
  --verbose | --quiet        more (hook output, details) or less terminal output   AO_RUNNER_LOG=verbose|quiet
  --log-format F             auto (default: JSON lines unless stdout is a          AO_LOG_FORMAT
                             terminal), json or text
  --metrics-port N           serve Prometheus metrics on http://HOST:N/metrics     AO_RUNNER_METRICS_PORT
                             (default: off; 0 picks a free port)
  --temporal-metrics-port N  the Temporal SDK's own Prometheus metrics (off)       AO_RUNNER_TEMPORAL_METRICS_PORT
  --metrics-host HOST        where both listen (default: 127.0.0.1)                AO_RUNNER_METRICS_HOST
  -h, --help                 show this help

Temporal: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"),
TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS, TEMPORAL_API_KEY.
Traces (off unless set): OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER=otlp, OTEL_SERVICE_NAME.
`;

const csv = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(Tag));

const boolFlag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', ''])])
  .transform((value) => value === true || value === 'true' || value === '1');

const RunnerOptions = z.object({
  profile: z.string().min(1).default(DEFAULT_PROFILE_NAME),
  profileList: z.boolean().default(false),
  tags: csv.default([]),
  requireMatchingTags: boolFlag.default(false),
  projectDir: z.string().min(1).default(process.cwd()).transform((dir) => path.resolve(dir)),
  capacity: z.coerce.number().int().min(1, 'capacity must be at least 1').max(1000).default(1),
  drainSeconds: z.coerce.number().int().min(0).max(86_400).default(30),
  profilesDir: z.string().min(1).default(defaultProfilesDir).transform((dir) => path.resolve(dir)),
  apiUrl: z.url().optional(),
  /** Only from the environment: a token on the command line would show in `ps`. */
  apiToken: z.string().min(1).optional(),
  forgeRemote: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a git remote name').default('origin'),
  /** Only from the environment, like the API token. */
  forgeToken: z.string().min(1).optional(),
  hooksDir: z.string().min(1).optional().transform((dir) => (dir ? path.resolve(dir) : undefined)),
  hookTimeout: z.coerce.number().int().min(1).max(3600).default(60),
  healthInterval: z.coerce.number().int().min(1).max(86_400).default(30),
  logLevel: z.enum(['quiet', 'normal', 'verbose']).default('normal'),
  dataDir: z.string().min(1).optional(),
  containment: z.enum(CONTAINMENT_MODES).default('auto'),
  executorUser: z.string().min(1).optional(),
  logFormat: z.enum(LOG_FORMATS).default('auto'),
  /** Unset: no metrics listener. */
  metricsPort: z.coerce.number().int().min(0).max(65_535).optional(),
  /** Unset: the SDK exports no metrics. 0 is refused: the SDK would not say which port it took. */
  temporalMetricsPort: z.coerce.number().int().min(1).max(65_535).optional(),
  metricsHost: z.string().min(1).default('127.0.0.1'),
  help: z.boolean().default(false),
});
export type RunnerOptions = z.infer<typeof RunnerOptions>;

export class RunnerOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunnerOptionsError';
  }
}

/** How each option is given, for error messages that name what to fix. */
const OPTION_SOURCES = {
  profile: '--profile / AO_RUNNER_PROFILE',
  tags: '--tags / AO_RUNNER_TAGS',
  requireMatchingTags: '--require-matching-tags / AO_RUNNER_REQUIRE_MATCHING_TAGS',
  projectDir: '--project-dir / AO_RUNNER_PROJECT_DIR',
  capacity: '--capacity / AO_RUNNER_CAPACITY',
  drainSeconds: '--drain-seconds / AO_RUNNER_DRAIN_SECONDS',
  profilesDir: '--profiles-dir / AO_PROFILES_DIR',
  apiUrl: '--api-url / AO_API_URL',
  apiToken: 'AO_API_TOKEN',
  forgeRemote: '--forge-remote / AO_FORGE_REMOTE',
  forgeToken: 'AO_FORGE_TOKEN',
  dataDir: '--data-dir / AO_RUNNER_DATA_DIR',
  containment: '--containment / AO_RUNNER_CONTAINMENT',
  executorUser: '--executor-user / AO_EXECUTOR_USER',
  hooksDir: '--hooks-dir / AO_HOOKS_DIR',
  hookTimeout: '--hook-timeout / AO_HOOK_TIMEOUT_SECONDS',
  healthInterval: '--health-interval / AO_HEALTH_CHECK_SECONDS',
  logLevel: '--verbose, --quiet / AO_RUNNER_LOG',
  logFormat: '--log-format / AO_LOG_FORMAT',
  metricsPort: '--metrics-port / AO_RUNNER_METRICS_PORT',
  temporalMetricsPort: '--temporal-metrics-port / AO_RUNNER_TEMPORAL_METRICS_PORT',
  metricsHost: '--metrics-host / AO_RUNNER_METRICS_HOST',
} as const;

/** Flags win over environment variables; both are validated by one schema. */
export function parseRunnerOptions(argv: string[], env: NodeJS.ProcessEnv): RunnerOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        profile: { type: 'string' },
        'profile-list': { type: 'boolean' },
        tags: { type: 'string' },
        'require-matching-tags': { type: 'boolean' },
        'project-dir': { type: 'string' },
        capacity: { type: 'string' },
        'drain-seconds': { type: 'string' },
        'profiles-dir': { type: 'string' },
        'api-url': { type: 'string' },
        'forge-remote': { type: 'string' },
        'data-dir': { type: 'string' },
        containment: { type: 'string' },
        'executor-user': { type: 'string' },
        'hooks-dir': { type: 'string' },
        'hook-timeout': { type: 'string' },
        'health-interval': { type: 'string' },
        verbose: { type: 'boolean' },
        quiet: { type: 'boolean' },
        'log-format': { type: 'string' },
        'metrics-port': { type: 'string' },
        'temporal-metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new RunnerOptionsError(`${(error as Error).message}\n\n${RUNNER_HELP}`);
  }
  const parsed = RunnerOptions.safeParse({
    profile: values.profile ?? env.AO_RUNNER_PROFILE,
    profileList: values['profile-list'],
    tags: values.tags ?? env.AO_RUNNER_TAGS,
    requireMatchingTags: values['require-matching-tags'] ?? env.AO_RUNNER_REQUIRE_MATCHING_TAGS,
    projectDir: values['project-dir'] ?? env.AO_RUNNER_PROJECT_DIR,
    capacity: values.capacity ?? env.AO_RUNNER_CAPACITY,
    drainSeconds: values['drain-seconds'] ?? env.AO_RUNNER_DRAIN_SECONDS,
    profilesDir: values['profiles-dir'] ?? env.AO_PROFILES_DIR,
    apiUrl: values['api-url'] ?? env.AO_API_URL,
    apiToken: env.AO_API_TOKEN || undefined,
    forgeRemote: values['forge-remote'] ?? (env.AO_FORGE_REMOTE || undefined),
    forgeToken: env.AO_FORGE_TOKEN || undefined,
    dataDir: values['data-dir'] ?? env.AO_RUNNER_DATA_DIR,
    containment: values.containment ?? env.AO_RUNNER_CONTAINMENT,
    executorUser: values['executor-user'] ?? (env.AO_EXECUTOR_USER || undefined),
    hooksDir: values['hooks-dir'] ?? env.AO_HOOKS_DIR,
    hookTimeout: values['hook-timeout'] ?? env.AO_HOOK_TIMEOUT_SECONDS,
    healthInterval: values['health-interval'] ?? env.AO_HEALTH_CHECK_SECONDS,
    logLevel: values.verbose ? 'verbose' : values.quiet ? 'quiet' : env.AO_RUNNER_LOG,
    logFormat: values['log-format'] ?? (env.AO_LOG_FORMAT || undefined),
    metricsPort: values['metrics-port'] ?? (env.AO_RUNNER_METRICS_PORT || undefined),
    temporalMetricsPort: values['temporal-metrics-port'] ?? (env.AO_RUNNER_TEMPORAL_METRICS_PORT || undefined),
    metricsHost: values['metrics-host'] ?? env.AO_RUNNER_METRICS_HOST,
    help: values.help,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const option = String(issue.path[0] ?? '');
      const source = OPTION_SOURCES[option as keyof typeof OPTION_SOURCES];
      return `${source ?? option}: ${issue.message}`;
    });
    throw new RunnerOptionsError(`invalid runner options:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/**
 * The same host, project dir and profile always give the same runner id, so a restarted runner
 * gets its own queue, workflow and interrupted runs back.
 */
export function runnerIdFor(hostname: string, projectDir: string, profile: string): string {
  const hash = crypto.createHash('sha256').update(`${hostname}\0${projectDir}\0${profile}`).digest('hex').slice(0, 10);
  const host = hostname.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 40);
  return `${host}.${profile}.${hash}`;
}

export const currentHostname = (): string => os.hostname();

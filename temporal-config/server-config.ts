import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The server reads `<config dir>/<env>.yaml`: this folder and `server` mean `server.yaml`, a
 * template the server fills from its environment (the variables below).
 */
export const SERVER_CONFIG_DIR = here;
export const SERVER_CONFIG_ENV = 'server';
export const SERVER_CONFIG_TEMPLATE = path.join(here, `${SERVER_CONFIG_ENV}.yaml`);
export const SERVER_DYNAMIC_CONFIG = path.join(here, 'dynamic-config.yaml');

/** Every port the server listens on: a gRPC and a membership port per service, and the frontend's HTTP API. */
export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** The template variable of each port; unset ones take Temporal's usual port (7233 for the frontend…). */
const PORT_VARIABLES: Record<keyof ServerPorts, string> = {
  frontend: 'TEMPORAL_SERVER_FRONTEND_PORT',
  frontendHttp: 'TEMPORAL_SERVER_FRONTEND_HTTP_PORT',
  frontendMembership: 'TEMPORAL_SERVER_FRONTEND_MEMBERSHIP_PORT',
  history: 'TEMPORAL_SERVER_HISTORY_PORT',
  historyMembership: 'TEMPORAL_SERVER_HISTORY_MEMBERSHIP_PORT',
  matching: 'TEMPORAL_SERVER_MATCHING_PORT',
  matchingMembership: 'TEMPORAL_SERVER_MATCHING_MEMBERSHIP_PORT',
  worker: 'TEMPORAL_SERVER_WORKER_PORT',
  workerMembership: 'TEMPORAL_SERVER_WORKER_MEMBERSHIP_PORT',
};
export const SERVER_PORT_NAMES = Object.keys(PORT_VARIABLES) as Array<keyof ServerPorts>;

/** Files of the frontend's mTLS: it requires a client certificate signed by `ca`. */
export interface ServerTls {
  /** The frontend's certificate and key; `serverName` must be one of the certificate's names. */
  cert: string;
  key: string;
  serverName: string;
  /** Signs the server's certificate and every client certificate it accepts. */
  ca: string;
  /** The client certificate the server's own system workflows present to its frontend. */
  workerCert: string;
  workerKey: string;
}

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Persistence and visibility each have a database of their own. */
  database: string;
  visibilityDatabase: string;
}

/** Everything the template needs; see the README for what each setting does. */
export interface ServerConfig {
  bindIp: string;
  ports: ServerPorts;
  postgres: PostgresTarget;
  tls?: ServerTls | undefined;
  /** `debug`, `info`, `warn` or `error`. */
  logLevel: string;
  dynamicConfig: string;
}

/** The database names of a fresh cluster, as Temporal's own setup scripts name them. */
export const DEFAULT_DATABASES = { database: 'temporal', visibilityDatabase: 'temporal_visibility' } as const;

/** A `postgres://user[:password]@host[:port]` URL as the template's connection settings; its path is not used. */
export function postgresTarget(url: string, databases: Pick<PostgresTarget, 'database' | 'visibilityDatabase'> = DEFAULT_DATABASES): PostgresTarget {
  const parsed = new URL(url);
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new Error(`not a postgres:// URL: ${parsed.protocol}`);
  if (!parsed.username) throw new Error('the PostgreSQL URL names no user');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    ...databases,
  };
}

/** The server process's environment for `server.yaml`. */
export function serverEnv(config: ServerConfig): Record<string, string> {
  const { postgres, tls } = config;
  return {
    TEMPORAL_SERVER_LOG_LEVEL: config.logLevel,
    TEMPORAL_SERVER_BIND_IP: config.bindIp,
    TEMPORAL_SERVER_DYNAMIC_CONFIG: config.dynamicConfig,
    TEMPORAL_SERVER_DB_HOST: postgres.host,
    TEMPORAL_SERVER_DB_PORT: String(postgres.port),
    TEMPORAL_SERVER_DB_USER: postgres.user,
    TEMPORAL_SERVER_DB_PASSWORD: postgres.password,
    TEMPORAL_SERVER_DB_NAME: postgres.database,
    TEMPORAL_SERVER_VISIBILITY_DB_NAME: postgres.visibilityDatabase,
    ...Object.fromEntries(SERVER_PORT_NAMES.map((name) => [PORT_VARIABLES[name], String(config.ports[name])])),
    ...(tls
      ? {
          TEMPORAL_SERVER_TLS_CERT: tls.cert,
          TEMPORAL_SERVER_TLS_KEY: tls.key,
          TEMPORAL_SERVER_TLS_CA: tls.ca,
          TEMPORAL_SERVER_TLS_SERVER_NAME: tls.serverName,
          TEMPORAL_SERVER_TLS_WORKER_CERT: tls.workerCert,
          TEMPORAL_SERVER_TLS_WORKER_KEY: tls.workerKey,
        }
      : {}),
  };
}

/** The variables a template reads (`env "NAME"`), for checks that every setting is documented and set. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(/env "([A-Z0-9_]+)"/g)].map((match) => match[1]!))].sort();
}

import type { PostgresTarget } from './server-config.js';
import { runTool } from './tools.js';

/** The schemas the SQL tool embeds, one per database: the same files as the module's schema/postgresql/v12/. */
export const SERVER_SCHEMAS = {
  database: 'postgresql/v12/temporal',
  visibilityDatabase: 'postgresql/v12/visibility',
} as const satisfies Record<keyof Pick<PostgresTarget, 'database' | 'visibilityDatabase'>, string>;

/**
 * Creates the persistence and visibility databases if they are missing and brings their schemas to
 * the server's version. Every step is idempotent, so it runs before every start (an upgrade of the
 * server then only needs its new binaries).
 */
export async function setupServerDatabases(sqlTool: string, postgres: PostgresTarget, log: (line: string) => void): Promise<void> {
  // The password goes through the environment, so it never shows in a process listing.
  const env = { ...process.env, SQL_PASSWORD: postgres.password };
  for (const [key, schema] of Object.entries(SERVER_SCHEMAS) as Array<[keyof typeof SERVER_SCHEMAS, string]>) {
    const connection = [sqlTool, '--plugin', 'postgres12', '--endpoint', postgres.host, '--port', String(postgres.port), '--user', postgres.user, '--database', postgres[key]];
    await runTool([...connection, 'create-database'], { env, log });
    // Version 0.0 is only the versioning tables; update-schema then applies every versioned step up to the newest.
    await runTool([...connection, 'setup-schema', '--version', '0.0'], { env, log });
    await runTool([...connection, 'update-schema', '--schema-name', schema], { env, log });
  }
}

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../temporal-config/dev-server.js';
import { testTime } from './time.js';

/** The newest server binaries from Debian's postgresql package. */
async function serverBinDir(): Promise<string> {
  const versions = (await fs.readdir('/usr/lib/postgresql').catch(() => [] as string[])).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = path.join('/usr/lib/postgresql', version, 'bin');
    if (await fs.stat(path.join(dir, 'postgres')).then(() => true, () => false)) return dir;
  }
  throw new Error('PostgreSQL server not found under /usr/lib/postgresql: install Debian package postgresql (.ci/run does)');
}

/** PostgreSQL refuses to run as root: when we are root, its processes run as the postgres user. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const entry = (await fs.readFile('/etc/passwd', 'utf8')).split('\n').find((line) => line.startsWith('postgres:'));
  if (!entry) throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(argv: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(file!, args, { ...user }, (error, _stdout, stderr) => (error ? reject(new Error(`${argv.join(' ')}: ${stderr || error.message}`)) : resolve()));
  });
}

/** A private, throwaway PostgreSQL server for the test run; returns its URL and a stop function. */
export async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const bin = await serverBinDir();
  const user = await serverUser();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-pg-'));
  if (user) await fs.chown(dir, user.uid, user.gid);
  await run([path.join(bin, 'initdb'), '-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'ao', '--no-sync'], user);
  const port = await freePort();
  // Spawned directly (no su/runuser in between), so the stop signal reaches the server itself.
  const server = spawn(
    path.join(bin, 'postgres'),
    ['-D', path.join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...user },
  );
  let output = '';
  server.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const url = `postgres://ao@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + testTime(30_000);
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return {
    url,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT');
        await exited;
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A database of its own on the test run's server, for a test that changes database-wide settings. */
export async function createDatabase(serverUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

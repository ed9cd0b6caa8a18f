import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { defaultToolsDir } from '../temporal-config/cli.js';

/** The Schemathesis release the API's fuzz test runs (PyPI). */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** Its own virtualenv under the tools dir: Debian's Python refuses a system-wide pip install. */
export const schemathesisVenv = (env: NodeJS.ProcessEnv = process.env): string => path.join(defaultToolsDir(env), 'schemathesis-venv');

/** The `st` command the fuzz test spawns. */
export const schemathesisCli = (env: NodeJS.ProcessEnv = process.env): string => path.join(schemathesisVenv(env), 'bin', 'st');

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(stdout),
    );
  });
}

/** The version of the installed `st`, or undefined when there is none. */
export async function installedSchemathesisVersion(cli: string = schemathesisCli()): Promise<string | undefined> {
  if (!(await fs.stat(cli).then(() => true, () => false))) return undefined;
  return /version (\S+)/.exec(await run(cli, ['--version']))?.[1];
}

/**
 * Installs Schemathesis `SCHEMATHESIS_VERSION` into its virtualenv (once per machine; `.ci/run` and
 * `npm run schemathesis:install` call this) and returns the path of `st`.
 */
export async function installSchemathesis(log: (line: string) => void = console.error): Promise<string> {
  const cli = schemathesisCli();
  if ((await installedSchemathesisVersion(cli)) === SCHEMATHESIS_VERSION) return cli;
  const venv = schemathesisVenv();
  log(`installing Schemathesis ${SCHEMATHESIS_VERSION} from PyPI into ${venv}…`);
  await fs.mkdir(path.dirname(venv), { recursive: true });
  await run('python3', ['-m', 'venv', venv]);
  await run(path.join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`]);
  const installed = await installedSchemathesisVersion(cli);
  if (installed !== SCHEMATHESIS_VERSION) throw new Error(`${cli} reports version ${installed ?? '(none)'}, not ${SCHEMATHESIS_VERSION}`);
  return cli;
}

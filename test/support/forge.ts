import fs from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../activities/git.js';

/** A bare repository standing in for a project's forge remote (no network here), added to the project as `name`. */
export async function bareRemote(root: string, projectDir: string, name = 'origin'): Promise<string> {
  const remote = await fs.mkdtemp(path.join(root, 'forge-remote-'));
  await git(remote, ['init', '-q', '--bare']);
  await git(projectDir, ['remote', 'add', name, remote]);
  return remote;
}

/** The commit a branch of the bare remote is at; undefined when it has no such branch. */
export async function remoteHead(remote: string, branch: string): Promise<string | undefined> {
  const line = await git(remote, ['ls-remote', remote, `refs/heads/${branch}`]);
  return line.split('\t')[0] || undefined;
}

export interface ForgeCall {
  argv: string[];
  gh_token: string | null;
}

export interface FakeForge {
  /** The argv prefix of a pull request command (`pull_request.command` starts with it). */
  program: string[];
  /** Every call so far, in order. */
  calls: () => Promise<ForgeCall[]>;
}

/**
 * The forge command's stand-in (for `gh pr create`): records its argv and the token it was given,
 * then prints `url` — or, with `failWith`, prints that to stderr and exits 1. `echoToken` makes it
 * print the token too, as a careless command might.
 */
export async function fakeForge(dir: string, options: { url: string; failWith?: string; echoToken?: boolean }): Promise<FakeForge> {
  const scratch = await fs.mkdtemp(path.join(dir, 'fake-forge-'));
  const log = path.join(scratch, 'calls.jsonl');
  const script = path.join(scratch, 'fake-forge.mjs');
  await fs.writeFile(
    script,
    [
      "import fs from 'node:fs';",
      `fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), gh_token: process.env.GH_TOKEN ?? null }) + '\\n');`,
      ...(options.echoToken ? ["console.log(`authenticated with ${process.env.GH_TOKEN}`);"] : []),
      ...(options.failWith ? [`console.error(${JSON.stringify(options.failWith)});`, 'process.exit(1);'] : ["console.log('Creating pull request for the branch');", `console.log(${JSON.stringify(options.url)});`]),
    ].join('\n'),
  );
  return {
    program: [process.execPath, script],
    calls: async () => {
      const text = await fs.readFile(log, 'utf8').catch(() => '');
      return text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ForgeCall);
    },
  };
}

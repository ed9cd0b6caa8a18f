import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecutorType } from '../../core/contract/executor-profile.js';
import { uniqueTag, type TestStack } from './stack.js';

/** How a supervised runner's CLI is started: its profile type, command and the environment it needs. */
export interface SupervisedCli {
  type: ExecutorType;
  command: string[];
  /** The runner's environment for this CLI; `home` is a fresh folder of the runner's own, under the stack. */
  env(home: string): Promise<NodeJS.ProcessEnv> | NodeJS.ProcessEnv;
}

export interface SupervisedRunner {
  tag: string;
  projectDir: string;
}

/**
 * Starts one runner per named config, each with a profile of `cli.type` in a profiles dir of its
 * own (`supervised-<name>`), tagged so a test's runs reach it.
 */
export async function startSupervisedRunners<K extends string>(
  stack: TestStack,
  cli: SupervisedCli,
  configs: Record<K, Record<string, unknown>>,
  /** Profile keys beside `config` (`policy`, `lifecycle`), by name. */
  profileExtras: Partial<Record<K, Record<string, unknown>>> = {},
): Promise<Record<K, SupervisedRunner>> {
  const profiles = await fs.mkdtemp(path.join(stack.root, 'profiles-'));
  const runners = {} as Record<K, SupervisedRunner>;
  for (const [name, config] of Object.entries(configs) as Array<[K, Record<string, unknown>]>) {
    await fs.writeFile(path.join(profiles, `supervised-${name}.json`), JSON.stringify({ ...profileExtras[name], type: cli.type, command: cli.command, config }));
    const tag = uniqueTag(`supervised-${name}`);
    const home = await fs.mkdtemp(path.join(stack.root, `home-${name}-`));
    const runner = await stack.startRunner({ profile: `supervised-${name}`, tags: [tag], extraArgs: ['--profiles-dir', profiles], env: await cli.env(home) });
    runners[name] = { tag, projectDir: runner.projectDir };
  }
  return runners;
}

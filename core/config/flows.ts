import fs from 'node:fs/promises';
import path from 'node:path';
import { Flow } from '../contract/flows.js';
import { Name } from '../contract/names.js';
import { FlowNotFoundError } from '../contract/errors.js';
import { readNamedConfigFile, writeFileAtomically } from './files.js';

/** Flows live as files, `config/flows/<name>.json`, so they diff well in git. */
export function flowFile(configDir: string, name: string): string {
  // The name is checked before it becomes part of a path.
  return path.join(configDir, 'flows', `${Name.parse(name)}.json`);
}

export async function loadFlow(configDir: string, name: string): Promise<Flow> {
  if (!Name.safeParse(name).success) throw new FlowNotFoundError(name);
  const flow = await readNamedConfigFile(flowFile(configDir, name), name, Flow, `file "${name}.json"`);
  if (!flow) throw new FlowNotFoundError(name);
  return flow;
}

export type FlowListing = Flow | { name: string; error: string };

/** Every flow; a broken one is listed with its error and never hides the others. */
export async function listFlows(configDir: string): Promise<FlowListing[]> {
  const entries = await fs.readdir(path.join(configDir, 'flows')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const names = entries
    .filter((entry) => entry.endsWith('.json'))
    .map((entry) => entry.slice(0, -'.json'.length))
    .filter((name) => Name.safeParse(name).success)
    .sort();
  return Promise.all(names.map((name) => loadFlow(configDir, name).catch((error: unknown): FlowListing => ({ name, error: error instanceof Error ? error.message : String(error) }))));
}

export async function saveFlow(configDir: string, flow: Flow): Promise<Flow> {
  await fs.mkdir(path.join(configDir, 'flows'), { recursive: true });
  await writeFileAtomically(flowFile(configDir, flow.name), `${JSON.stringify(flow, null, 2)}\n`);
  return flow;
}

export async function deleteFlow(configDir: string, name: string): Promise<void> {
  if (!Name.safeParse(name).success) throw new FlowNotFoundError(name);
  await fs.rm(flowFile(configDir, name)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new FlowNotFoundError(name);
    throw error;
  });
}

import fs from 'node:fs/promises';
import path from 'node:path';
import { ExecutorProfile } from '../contract/executor-profile.js';
import { Name } from '../contract/names.js';
import { InvalidConfigFileError, ProfileNotFoundError, describeIssues } from '../contract/errors.js';

/** The profile used when a runner is started without `--profile`. */
export const DEFAULT_PROFILE_NAME = 'claude-code';
export const DEFAULT_PROFILE: ExecutorProfile = { type: 'claude-code', config: {} };

export interface NamedProfile {
  name: string;
  file: string;
  profile: ExecutorProfile;
}

async function profileNames(profilesDir: string): Promise<string[]> {
  const entries = await fs.readdir(profilesDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries.filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -'.json'.length)).sort();
}

async function readProfile(profilesDir: string, name: string): Promise<NamedProfile> {
  const file = path.join(profilesDir, `${name}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new InvalidConfigFileError(file, [error instanceof Error ? error.message : String(error)]);
  }
  const parsed = ExecutorProfile.safeParse(raw);
  if (!parsed.success) throw new InvalidConfigFileError(file, describeIssues(parsed.error.issues));
  return { name, file, profile: parsed.data };
}

/** Loads one profile by name; an unknown name lists the available ones. */
export async function loadProfile(profilesDir: string, name: string): Promise<NamedProfile> {
  const available = await profileNames(profilesDir);
  if (!Name.safeParse(name).success || !available.includes(name)) {
    if (name === DEFAULT_PROFILE_NAME) return { name, file: '(built-in)', profile: DEFAULT_PROFILE };
    throw new ProfileNotFoundError(name, available);
  }
  return readProfile(profilesDir, name);
}

export type ProfileListing = NamedProfile | { name: string; file: string; error: string };

/** Lists every profile; a broken file is reported as such and never hides the others. */
export async function listProfiles(profilesDir: string): Promise<ProfileListing[]> {
  const names = await profileNames(profilesDir);
  return Promise.all(
    names.map((name) =>
      readProfile(profilesDir, name).catch((error: unknown) => ({
        name,
        file: path.join(profilesDir, `${name}.json`),
        error: error instanceof Error ? error.message : String(error),
      })),
    ),
  );
}

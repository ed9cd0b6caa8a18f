import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The folder of this checkout; defaults for profiles, config and data live under it. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const defaultProfilesDir = path.join(repoRoot, 'profiles');
export const defaultConfigDir = path.join(repoRoot, 'config');
export const defaultDataDir = path.join(repoRoot, '.data');
/** Where `npm start`'s local runner works: beside the data dir, never inside it. */
export const defaultStartWorkspace = path.join(repoRoot, '.workspace');

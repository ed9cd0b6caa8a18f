import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the dashboard when its build is missing or older than its sources, so `npm start` and
 * the dashboard tests always serve what is in the tree. Node-side helper; the app is in src/.
 */
const webDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.dirname(webDir);

export const webDistDir = path.join(webDir, 'dist');
const builtIndex = path.join(webDistDir, 'index.html');

/** What the bundle is made of: the app, its entry and config, the shared schemas in core/, the lockfile. */
const SOURCES = [path.join(webDir, 'src'), path.join(webDir, 'index.html'), path.join(webDir, 'vite.config.ts'), path.join(repoRoot, 'core'), path.join(repoRoot, 'package-lock.json')];

async function newestMtime(target: string): Promise<number> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  const entries = await fs.readdir(target);
  const times = await Promise.all(entries.map((entry) => newestMtime(path.join(target, entry))));
  return Math.max(stat.mtimeMs, ...times);
}

export async function isDashboardStale(): Promise<boolean> {
  const built = await fs.stat(builtIndex).catch(() => undefined);
  if (!built) return true;
  const sources = await Promise.all(SOURCES.map(newestMtime));
  return Math.max(...sources) > built.mtimeMs;
}

/** `npm run web:build`, in process. */
export async function buildDashboard(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn' });
}

/** Builds only when needed; says whether it did. */
export async function ensureDashboardBuilt(log: (line: string) => void = console.log): Promise<boolean> {
  if (!(await isDashboardStale())) return false;
  log('building the dashboard (web/dist is missing or older than its sources)…');
  await buildDashboard();
  return true;
}

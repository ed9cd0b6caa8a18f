import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { secondsSince, type RunnerMetrics } from '../core/observability/metrics.js';
import { MAX_BUNDLE_BYTES, SCRIPT_VERSION_HEADER, ScriptBundleError, unpackScriptBundle } from '../core/config/script-bundle.js';
import { replaceFolder } from '../core/config/files.js';
import { readScriptFolder } from '../core/config/scripts.js';
import { Name } from '../core/contract/names.js';
import type { InstalledScript, ScriptSyncFailureType } from '../core/contract/fleet.js';
import type { Script, ScriptRef } from '../core/contract/config-files.js';

/**
 * Where a runner keeps its synced scripts: `<data dir>/scripts/<name>/`, the runner's own folder
 * (`--data-dir`), so they are never files of the user's repository that a run could commit or change.
 */
export function installedScriptsRoot(dataDir: string): string {
  return path.join(dataDir, 'scripts');
}

export function installedScriptDir(dataDir: string, name: string): string {
  return path.join(installedScriptsRoot(dataDir), Name.parse(name));
}

export function installedScriptPath(dataDir: string, script: Pick<ScriptRef, 'name' | 'script_file'>): string {
  return path.join(installedScriptDir(dataDir, script.name), Name.parse(script.script_file));
}

/** The script as installed on this runner, re-hashed from its files; undefined when it is missing or damaged. */
export function readInstalledScript(dataDir: string, name: string): Promise<Script | undefined> {
  return readScriptFolder(installedScriptDir(dataDir, name), name).catch(() => undefined);
}

export interface ScriptActivityDependencies {
  /** The runner's own data dir: scripts are installed under its `scripts/`. */
  dataDir: string;
  apiUrl?: string;
  apiToken?: string;
  log?: (message: string) => void;
  /** The script sync lag is observed on it. */
  metrics?: Pick<RunnerMetrics, 'scriptSyncLag'>;
}

const failure = (type: ScriptSyncFailureType, message: string, nonRetryable = false): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable });

/** Activities on the runner's own queue that keep its copy of the scripts in step with the config. */
/** Staging left younger than this may belong to an install still running (a retry, or a runner sharing the project). */
const STALE_STAGING_MS = 10 * 60_000;

export function createScriptActivities({ dataDir, apiUrl, apiToken, log = () => undefined, metrics }: ScriptActivityDependencies) {
  const root = installedScriptsRoot(dataDir);
  // One install or removal of a name at a time in this process: an activity retry can overlap the attempt it replaces.
  const busy = new Map<string, Promise<unknown>>();
  const oneAtATime = <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const next = (busy.get(name) ?? Promise.resolve()).then(work, work);
    busy.set(name, next.catch(() => undefined));
    return next;
  };

  async function download(name: string): Promise<{ archive: Buffer; version: string }> {
    if (!apiUrl) throw failure('SCRIPT_SYNC_UNAVAILABLE', 'this runner has no --api-url, so it cannot download scripts', true);
    const response = await fetch(`${apiUrl}/scripts/${encodeURIComponent(name)}/download`, {
      headers: apiToken ? { authorization: `Bearer ${apiToken}` } : {},
      signal: AbortSignal.timeout(60_000),
    });
    if (response.status === 404) throw failure('SCRIPT_GONE', `script ${name} no longer exists`, true);
    if (!response.ok) throw failure('SCRIPT_DOWNLOAD_FAILED', `downloading script ${name} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_BUNDLE_BYTES) throw failure('SCRIPT_BUNDLE_REFUSED', `script ${name}: bundle of ${declared} bytes is over the limit`, true);
    return { archive: Buffer.from(await response.arrayBuffer()), version: response.headers.get(SCRIPT_VERSION_HEADER) ?? '' };
  }

  /**
   * Downloads the script's bundle, checks that its content hashes to the version asked for, and
   * swaps it into place whole: a run never sees half an install.
   */
  async function install(name: string, version: string): Promise<InstalledScript> {
    const current = await readInstalledScript(dataDir, name);
    if (current?.version === version) return { version, installed_at: new Date().toISOString() };
    const { archive, version: declared } = await download(name);
    await fs.mkdir(root, { recursive: true });
    const staging = await fs.mkdtemp(path.join(root, `.tmp-${name}-`));
    try {
      await unpackScriptBundle(archive, staging);
      const unpacked = await readScriptFolder(staging, name);
      if (unpacked.version !== declared) {
        throw failure('SCRIPT_HASH_MISMATCH', `script ${name}: bundle content hashes to ${unpacked.version.slice(0, 12)}, the API declared ${declared.slice(0, 12)}`);
      }
      if (unpacked.version !== version) {
        // Changed since this sync was asked for: the workflow re-reads the config rather than retry.
        throw failure('SCRIPT_VERSION_CHANGED', `script ${name} is now at version ${unpacked.version.slice(0, 12)}, not ${version.slice(0, 12)}`, true);
      }
      await fs.chmod(path.join(staging, unpacked.script_file), 0o755);
      await replaceFolder(staging, installedScriptDir(dataDir, name));
      log(`installed script ${name} version ${version.slice(0, 12)}`);
      // From the runner workflow scheduling the install (its first attempt) to the new version in place.
      metrics?.scriptSyncLag.observe(secondsSince(Context.current().info.scheduledTimestampMs));
      return { version, installed_at: new Date().toISOString() };
    } catch (error) {
      if (error instanceof ScriptBundleError) throw failure('SCRIPT_BUNDLE_REFUSED', `script ${name}: ${error.message}`, true);
      throw error;
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  return {
    /** Installs the script at this version, unless it is installed already. */
    installScript({ name, version }: { name: string; version: string }): Promise<InstalledScript> {
      Name.parse(name);
      return oneAtATime(name, () => install(name, version));
    },

    removeScript({ name }: { name: string }): Promise<void> {
      return oneAtATime(Name.parse(name), async () => {
        await fs.rm(installedScriptDir(dataDir, name), { recursive: true, force: true });
        log(`removed script ${name}`);
      });
    },

    /** The versions really on disk, each recomputed from its files: a damaged copy does not count as installed. */
    async inspectScripts(): Promise<Record<string, InstalledScript>> {
      const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
      const installed: Record<string, InstalledScript> = {};
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        if (!Name.safeParse(entry.name).success) {
          // Staging left by an install that died midway; a young one may still be in use.
          const stat = await fs.stat(path.join(root, entry.name)).catch(() => undefined);
          if (stat && Date.now() - stat.mtimeMs > STALE_STAGING_MS) await fs.rm(path.join(root, entry.name), { recursive: true, force: true });
          continue;
        }
        const script = await readInstalledScript(dataDir, entry.name);
        if (!script) continue;
        // The folder's own time: it was made at install, while its files may carry a bundle's time (1970, before noMtime).
        const stat = await fs.stat(installedScriptDir(dataDir, entry.name));
        installed[entry.name] = { version: script.version, installed_at: stat.mtime.toISOString() };
      }
      return installed;
    },
  };
}

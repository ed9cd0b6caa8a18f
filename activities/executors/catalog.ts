import path from 'node:path';
import { repoRoot } from '../../core/config/paths.js';
import type { ExecutorConfigOf, ExecutorType } from '../../core/contract/executor-profile.js';
import { claudeCodeAdapter } from './claude-code.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';
import { proceduralAdapter } from './procedural.js';
import { contractAdapter, type ExecutorAdapter } from './contract.js';

/** From the checkout's root, so a compiled runner (dist/) finds it too. */
const echoExecutorPath = path.join(repoRoot, 'activities', 'executors', 'echo-executor.mjs');

/**
 * Executor type → adapter, each typed by its type's config schema (`executorConfigSchemas` in the
 * contract, which the profile loader checks). `claude-code`, `codex` and `gemini` drive the real
 * CLIs; `procedural` runs synced scripts; the echo executor speaks the executor contract.
 */
export const executorCatalog: { [K in ExecutorType]: ExecutorAdapter<ExecutorConfigOf<K>> } = {
  echo: contractAdapter(() => [process.execPath, echoExecutorPath]),
  'claude-code': claudeCodeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  procedural: proceduralAdapter,
};

/**
 * The adapter of an executor type, for a caller holding a config of any type: a profile's config
 * was parsed by the schema of its own type, so it is the config its adapter takes.
 */
export const adapterFor = (type: ExecutorType): ExecutorAdapter => executorCatalog[type];

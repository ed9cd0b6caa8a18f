import { fileURLToPath } from 'node:url';
import type { ExecutorType } from '../../core/schemas.js';
import { contractAdapter, type ExecutorAdapter } from './contract.js';

const echoExecutorPath = fileURLToPath(new URL('./echo-executor.mjs', import.meta.url));

/**
 * Executor type → adapter. Every type speaks the executor contract through a profile's
 * `command`; the echo executor ships its own command. Dedicated drivers for the agent CLIs
 * replace their entries as they land.
 */
export const executorCatalog: { [K in ExecutorType]: ExecutorAdapter } = {
  echo: contractAdapter(() => [process.execPath, echoExecutorPath]),
  'claude-code': contractAdapter(),
  codex: contractAdapter(),
  gemini: contractAdapter(),
  procedural: contractAdapter(),
};

import { fileURLToPath } from 'node:url';
import type { ExecutorType } from '../../core/schemas.js';
import { claudeCodeAdapter } from './claude-code.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';
import { proceduralAdapter } from './procedural.js';
import { contractAdapter, type ExecutorAdapter } from './contract.js';

const echoExecutorPath = fileURLToPath(new URL('./echo-executor.mjs', import.meta.url));

/**
 * Executor type → adapter. `claude-code`, `codex` and `gemini` drive the real CLIs; `procedural` runs
 * synced scripts; the echo executor speaks the executor contract with a command of its own.
 */
export const executorCatalog: { [K in ExecutorType]: ExecutorAdapter } = {
  echo: contractAdapter(() => [process.execPath, echoExecutorPath]),
  'claude-code': claudeCodeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  procedural: proceduralAdapter,
};

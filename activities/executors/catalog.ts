import { fileURLToPath } from 'node:url';
import type { ExecutorType } from '../../core/schemas.js';
import { claudeCodeAdapter } from './claude-code.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';
import { contractAdapter, type ExecutorAdapter } from './contract.js';

const echoExecutorPath = fileURLToPath(new URL('./echo-executor.mjs', import.meta.url));

/**
 * Executor type → adapter. `claude-code`, `codex` and `gemini` drive the real CLIs; the other types speak the
 * executor contract through a profile's `command` until their drivers land; the echo executor
 * ships its own command.
 */
export const executorCatalog: { [K in ExecutorType]: ExecutorAdapter } = {
  echo: contractAdapter(() => [process.execPath, echoExecutorPath]),
  'claude-code': claudeCodeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  procedural: contractAdapter(),
};

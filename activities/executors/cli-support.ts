import { execFile } from 'node:child_process';
import type { ExecutorEvent } from './contract.js';

/** The agent CLIs' structured output: one JSON object per line. */
export type JsonLine = { type?: string; [key: string]: unknown };

export class ExecutorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorConfigError';
  }
}

export function parseJsonLine(text: string): JsonLine | undefined {
  try {
    const parsed = JSON.parse(text) as JsonLine | null;
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export const parseJsonLines = (stdout: string): JsonLine[] =>
  stdout.split('\n').flatMap((text): JsonLine[] => {
    const line = parseJsonLine(text);
    return line ? [line] : [];
  });

/** A `parseLine` for adapters: a line that is not a JSON object yields no events. */
export const eventsFromLine =
  (toEvents: (line: JsonLine) => ExecutorEvent[]) =>
  (text: string): ExecutorEvent[] => {
    const line = parseJsonLine(text);
    return line ? toEvents(line) : [];
  };

function run(argv: string[]): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(file!, args, { timeout: 30_000 }, (error, stdout) => {
      if (error) reject(new Error(error.message));
      else resolve(stdout);
    });
  });
}

/**
 * Checks at runner start that an agent CLI runs and its help lists the flags the driver needs;
 * the errors say how to fix it.
 */
export async function detectCli(command: string[], cli: { name: string; npmPackage: string; helpArgs: string[]; requiredFlags: string[] }): Promise<{ version: string }> {
  let version: string;
  try {
    version = (await run([...command, '--version'])).trim();
  } catch (error) {
    throw new ExecutorConfigError(`the ${cli.name} CLI (${command.join(' ')}) cannot run: ${(error as Error).message}. Install ${cli.npmPackage} or set the profile's "command"`);
  }
  const help = await run([...command, ...cli.helpArgs]);
  const missing = cli.requiredFlags.filter((flag) => !help.includes(flag));
  if (missing.length) throw new ExecutorConfigError(`the ${cli.name} CLI ${version} lacks ${missing.join(', ')}; ao needs a newer version`);
  return { version };
}

import { spawn, type ChildProcess } from 'node:child_process';
import type { Connection } from '@temporalio/client';
import { ensureNamespace } from './namespace.js';

/** A Temporal server process (dev server or cluster) that this process started and stops. */
export interface ServerProcess {
  child: ChildProcess;
  /** Rejects, with the output's tail, if the process ends or cannot start; never resolves. */
  exited: Promise<never>;
  /** Ends it gracefully (SIGTERM, then SIGKILL after 10 s); safe to call twice. */
  stop: () => Promise<void>;
}

export function spawnServer(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ServerProcess {
  // Its own process group: a Ctrl-C in the terminal reaches the workers first, and the server is
  // stopped last (by `stop()`), so runners can still deregister.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`temporal server exited early (${signal ?? `code ${code}`}): ${output.trim()}`)));
    child.once('error', (error) => reject(new Error(`cannot start ${command}: ${error.message}`)));
  });
  exited.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.off('exit', killOnExit);
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  return { child, exited, stop };
}

/**
 * Waits until the server answers and the namespace is ready for ao (see `ensureNamespace`), or
 * the process ends first; stops the process when it does not become ready.
 */
export async function untilReady(
  server: ServerProcess,
  connect: () => Promise<Connection>,
  options: { address: string; namespace: string; timeoutMs: number; retentionDays?: number | undefined },
): Promise<void> {
  try {
    await Promise.race([server.exited, waitUntilServing(server, connect, options)]);
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function waitUntilServing(
  server: ServerProcess,
  connect: () => Promise<Connection>,
  { address, namespace, timeoutMs, retentionDays }: { address: string; namespace: string; timeoutMs: number; retentionDays?: number | undefined },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  // A server that ended is reported by `exited`; no point trying it further.
  while (Date.now() < deadline && server.child.exitCode === null && server.child.signalCode === null) {
    try {
      const connection = await connect();
      try {
        await ensureNamespace(connection, namespace, retentionDays);
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`temporal server at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}`);
}

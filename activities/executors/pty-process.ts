import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawn as spawnPty } from 'node-pty';
import { ContainmentError, ProcessGroupContainer, signalGroup } from '../containment/run-container.js';
import { giveTo } from '../containment/executor-user.js';
import { GATE_CLOSED_EXIT_CODE, GATE_NAME, OutputStream, ProcessStartError, asUser, assertExecutable, endContainer, stopOnAbort, type GroupStopper, type ProcessOutcome, type ProcessSpec } from './process.js';

const run = promisify(execFile);

/**
 * A constant launcher, never built from input: the command arrives as positional arguments. It
 * waits at a gate (one line in a FIFO, written once the process is contained), then execs the
 * command with stderr sent to another FIFO, so it stays apart from stdout, which is the terminal.
 */
const LAUNCHER = `fifo=$1; gate=$2; shift 2; read -r _ <"$gate" || exit ${GATE_CLOSED_EXIT_CODE}; exec "$@" 2>"$fifo"`;

const signalName = (signal: number | undefined): NodeJS.Signals | null =>
  signal ? ((Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0] as NodeJS.Signals | undefined) ?? null) : null;

/**
 * Runs a process on a pseudo-terminal, so it prints as it would for a person (line by line,
 * colours), while its stderr is read apart. The process leads its own session and is held at a
 * gate until its container has taken it in, so a stop ends everything it starts, as with
 * `runProcess`. Stdin gets end-of-file at once; `openStdin` may type more on the terminal later.
 */
export async function runInPty(spec: ProcessSpec): Promise<ProcessOutcome> {
  const [executable] = spec.argv;
  if (!executable) throw new ProcessStartError('', undefined, 'empty command');
  const container = spec.container ?? new ProcessGroupContainer();
  const env = { ...(spec.env ?? process.env), ...container.env };
  assertExecutable(executable, env, spec.cwd);
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ao-pty-'));
  const fifo = path.join(scratch, 'stderr');
  const gate = path.join(scratch, 'gate');
  let gateFd: number | undefined;
  try {
    await run('mkfifo', ['-m', '600', fifo, gate]);
    // The launcher opens both as the executor user, when there is one: they and their folder are its.
    if (spec.runAs) for (const file of [scratch, fifo, gate]) await giveTo(spec.runAs, file);
    // Read-write: opening never blocks, and the launcher's read sees end-of-file only if the runner dies.
    gateFd = fs.openSync(gate, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const gateWriter = gateFd;
    return await new Promise<ProcessOutcome>((resolve, reject) => {
      // A terminal ends lines with CRLF; the captured text keeps plain newlines, the live stream stays as printed.
      const stdout = new OutputStream(256 * 1024, spec.redactor, spec.onStdout, (text) => text.replace(/\r\n/g, '\n'));
      const stderr = new OutputStream(64 * 1024, spec.redactor, spec.onStderr);
      let terminal: ReturnType<typeof spawnPty>;
      try {
        const [launcher, ...launcherArgs] = asUser(spec.runAs, ['/bin/sh', '-c', LAUNCHER, GATE_NAME, fifo, gate, ...spec.argv], spec.networkNamespace);
        terminal = spawnPty(launcher, launcherArgs, {
          name: 'xterm-256color',
          cols: 120,
          rows: 40,
          cwd: spec.cwd,
          env,
        });
      } catch (error) {
        reject(new ProcessStartError(executable, undefined, `cannot start ${executable}: ${(error as Error).message}`));
        return;
      }
      const pid = terminal.pid;
      const stderrStream = readFifo(fifo, (chunk) => stderr.push(chunk));
      let stopper: GroupStopper | undefined;
      let refused: ContainmentError | undefined;
      try {
        container.admit(pid);
        fs.writeSync(gateWriter, 'go\n');
        spec.onStart?.(pid);
        stopper = stopOnAbort(container, spec.signal, spec.killGraceMs);
      } catch (error) {
        // Still at the gate: it has run nothing.
        refused = error instanceof ContainmentError ? error : new ContainmentError((error as Error).message);
        signalGroup(pid, 'SIGKILL');
      }
      terminal.onData((chunk) => stdout.push(chunk));
      terminal.write('\x04');
      // Operator input (`POST /runs/:id/input`) is typed on the terminal, after that first end-of-file.
      spec.openStdin?.({ write: (text) => terminal.write(text), end: () => terminal.write('\x04') });
      terminal.onExit(({ exitCode, signal }) => {
        void Promise.all([endContainer(stopper, container), stderrStream.drain()]).then(() => {
          stdout.end();
          stderr.end();
          if (refused) return reject(refused);
          const name = signalName(signal);
          resolve({ exitCode: name ? null : exitCode, signal: name, stdout: stdout.toString(), stderr: stderr.toString(), aborted: stopper?.aborted() ?? false });
        }, reject);
      });
    });
  } finally {
    if (gateFd !== undefined) fs.closeSync(gateFd);
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Reads the FIFO without ever blocking a thread: opened read-write and non-blocking (so open()
 * returns at once, with or without a writer) and read through the event loop. Holding the write
 * end ourselves means no end-of-file: `drain` stops reading once the pipe has been quiet briefly.
 */
function readFifo(fifo: string, onChunk: (chunk: string) => void): { drain(): Promise<void> } {
  const socket = new net.Socket({ fd: fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK), readable: true, writable: false });
  socket.setEncoding('utf8');
  let lastChunkAt = Date.now();
  socket.on('data', (chunk: string) => {
    lastChunkAt = Date.now();
    onChunk(chunk);
  });
  socket.on('error', () => undefined);
  return {
    async drain(): Promise<void> {
      // What the process wrote before it exited is already in the pipe: wait until it has been read.
      const deadline = Date.now() + 2_000;
      do await new Promise((resolve) => setTimeout(resolve, 50));
      while (Date.now() - lastChunkAt < 50 && Date.now() < deadline);
      socket.destroy();
    },
  };
}

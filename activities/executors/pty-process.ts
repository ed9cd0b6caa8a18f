import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawn as spawnPty } from 'node-pty';
import { ProcessStartError, Tail, stopGroupOnAbort, waitForGroupExit, type ProcessOutcome, type ProcessSpec } from './process.js';

const run = promisify(execFile);

/**
 * A constant launcher, never built from input: the command arrives as positional arguments.
 * It sends stderr to a FIFO so it stays apart from stdout, which is the terminal.
 */
const LAUNCHER = 'fifo=$1; shift; exec "$@" 2>"$fifo"';

const signalName = (signal: number | undefined): NodeJS.Signals | null =>
  signal ? ((Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0] as NodeJS.Signals | undefined) ?? null) : null;

/**
 * Runs a process on a pseudo-terminal, so it prints as it would for a person (line by line,
 * colours), while its stderr is read apart. The process leads its own session, so a stop ends its
 * whole process group, as with `runProcess`. Stdin gets end-of-file at once.
 */
export async function runInPty(spec: ProcessSpec): Promise<ProcessOutcome> {
  const [executable] = spec.argv;
  if (!executable) throw new ProcessStartError('', undefined, 'empty command');
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ao-pty-'));
  const fifo = path.join(scratch, 'stderr');
  try {
    await run('mkfifo', ['-m', '600', fifo]);
    return await new Promise<ProcessOutcome>((resolve, reject) => {
      const stdout = new Tail(256 * 1024);
      const stderr = new Tail(64 * 1024);
      let terminal: ReturnType<typeof spawnPty>;
      try {
        terminal = spawnPty('/bin/sh', ['-c', LAUNCHER, 'ao-launcher', fifo, ...spec.argv], {
          name: 'xterm-256color',
          cols: 120,
          rows: 40,
          cwd: spec.cwd,
          env: spec.env ?? process.env,
        });
      } catch (error) {
        reject(new ProcessStartError(executable, undefined, `cannot start ${executable}: ${(error as Error).message}`));
        return;
      }
      const pid = terminal.pid;
      const stderrStream = readFifo(fifo, (chunk) => {
        stderr.push(chunk);
        spec.onStderr?.(chunk);
      });
      spec.onStart?.(pid);
      const stopper = stopGroupOnAbort(pid, spec.signal, spec.killGraceMs);
      terminal.onData((chunk) => {
        // A terminal ends lines with CRLF; the captured text keeps plain newlines, the live stream stays as printed.
        stdout.push(chunk.replace(/\r\n/g, '\n'));
        spec.onStdout?.(chunk);
      });
      terminal.write('\x04');
      terminal.onExit(({ exitCode, signal }) => {
        stopper.finish();
        void Promise.all([waitForGroupExit(pid), stderrStream.drain()]).then(() => {
          const name = signalName(signal);
          resolve({ exitCode: name ? null : exitCode, signal: name, stdout: stdout.toString(), stderr: stderr.toString(), aborted: stopper.aborted() });
        });
      });
    });
  } finally {
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

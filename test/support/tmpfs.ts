import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, (error, _stdout, stderr) => (error ? reject(new Error(`${file} ${args.join(' ')}: ${stderr || error.message}`)) : resolve()));
  });
}

/** A small tmpfs of its own (we are root), to make a real disk full: fill it, then free it. */
export class SmallDisk {
  private constructor(readonly dir: string) {}

  static async mount(sizeBytes: number): Promise<SmallDisk> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-small-disk-'));
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'ao-small-disk', dir]);
    return new SmallDisk(dir);
  }

  private get filler(): string {
    return path.join(this.dir, 'filler');
  }

  /** Writes a filler file until the disk refuses another byte. */
  async fill(): Promise<void> {
    const handle = await fs.open(this.filler, 'a');
    try {
      for (const chunk of [Buffer.alloc(4096), Buffer.alloc(1)]) {
        for (;;) {
          const written = await handle.write(chunk).then(
            ({ bytesWritten }) => bytesWritten,
            (error: NodeJS.ErrnoException) => {
              if (error.code === 'ENOSPC') return 0;
              throw error;
            },
          );
          if (written < chunk.length) break;
        }
      }
    } finally {
      await handle.close();
    }
  }

  async free(): Promise<void> {
    await fs.rm(this.filler, { force: true });
  }

  async unmount(): Promise<void> {
    await run('umount', [this.dir]);
    await fs.rmdir(this.dir);
  }
}

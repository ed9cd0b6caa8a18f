import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureOwnSharedDir } from '../core/config/private-files.js';
import { loadTrigger } from '../core/config/triggers.js';
import { listNotifications } from '../core/config/notifications.js';

/** A config file that holds a secret never shows it, however it is broken. */
describe('config files that hold a secret', () => {
  it('report a broken trigger or notification without quoting its text', async () => {
    const config = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-secret-files-'));
    const broken = '{"secret": "s3cr3t-value-never-shown", oops}';
    for (const kind of ['triggers', 'notifications']) {
      await fs.mkdir(path.join(config, kind));
      await fs.writeFile(path.join(config, kind, 'leaky.json'), broken);
    }
    const error = await loadTrigger(config, 'leaky').then(() => undefined, (thrown: Error) => thrown);
    expect(error?.message).toContain('not valid JSON');
    expect(error?.message).not.toContain('s3cr3t');
    const [listed] = await listNotifications(config);
    expect(listed).toMatchObject({ name: 'leaky', error: expect.stringContaining('not valid JSON') as unknown });
    expect(JSON.stringify(listed)).not.toContain('s3cr3t');
    await fs.rm(config, { recursive: true });
  });
});

describe('the folder a gemini run’s policy is written to', () => {
  it('is refused when someone else could write in it, so no policy file can be swapped', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-own-dir-'));
    await ensureOwnSharedDir(path.join(dir, 'fresh'));
    expect(((await fs.stat(path.join(dir, 'fresh'))).mode & 0o777).toString(8)).toBe('755');
    const open = path.join(dir, 'open');
    await fs.mkdir(open);
    await fs.chmod(open, 0o777);
    await expect(ensureOwnSharedDir(open)).rejects.toThrow(/not this runner's own folder/);
    await fs.rm(dir, { recursive: true });
  });
});

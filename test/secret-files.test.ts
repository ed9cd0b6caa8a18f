import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunCredentials } from '../api/run-credentials.js';
import { REDACTED, Redactor } from '../core/contract/secrets.js';

/** The run-scoped credential: derived from the run id and the data dir's secret, bound to its run, redacted by its shape. */
describe('a run credential', () => {
  it('names its run, is refused for another run or another secret, and the secret file is its owner’s only', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-run-credentials-'));
    try {
      const credentials = RunCredentials.inDataDir(dataDir);
      const token = credentials.tokenFor('run-1');
      expect(credentials.runOf(token)).toBe('run-1');
      // The same secret after a restart: the credential stays valid.
      expect(RunCredentials.inDataDir(dataDir).runOf(token)).toBe('run-1');
      expect((await fs.stat(path.join(dataDir, 'run-credential-secret'))).mode & 0o777).toBe(0o600);
      expect(credentials.runOf(token.replace('run-1', 'run-2'))).toBeUndefined();
      expect(credentials.runOf(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
      expect(credentials.runOf('aor_../../etc.x')).toBeUndefined();
      expect(new RunCredentials(Buffer.from('another secret')).runOf(token)).toBeUndefined();
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('is redacted wherever text is shown, by its shape alone', () => {
    const token = new RunCredentials(Buffer.from('a test secret')).tokenFor('0b7c2c1e-4e0e-4a3f-9d61-2f6f1c0d9e21');
    expect(new Redactor().text(`curl -H "Authorization: ${token}" /mcp`)).toBe(`curl -H "Authorization: ${REDACTED}" /mcp`);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRunnerLog } from '../activities/runner-log.js';
import { InvalidEnvironmentError, parseEnv } from '../core/config/env.js';
import { startTsProcess } from './support/process.js';

describe('environment configuration', () => {
  it('names every variable that is wrong', () => {
    const schema = z.object({ AO_PORT: z.coerce.number().int().positive(), AO_MODE: z.enum(['a', 'b']) });
    const attempt = (): unknown => parseEnv(schema, { AO_PORT: 'many', AO_MODE: 'c' }, 'the thing');
    expect(attempt).toThrow(InvalidEnvironmentError);
    expect(attempt).toThrow(/invalid environment for the thing:\n {2}AO_PORT: .*\n {2}AO_MODE: /);
  });

  it('stops the API at start with the variable named, instead of failing later', async () => {
    const api = startTsProcess('api', 'api/server.ts', [], { AO_API_PORT: 'eighty', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const { code } = await api.exited;
    expect(code).toBe(1);
    expect(api.output).toMatch(/invalid environment for the api:\n {2}AO_API_PORT: /);
  });
});

describe('the runner’s terminal output', () => {
  const capture = (tty: boolean, level: 'quiet' | 'normal' | 'verbose') => {
    const lines: string[] = [];
    const log = createRunnerLog({ tty, level, write: (line) => lines.push(line) });
    log.runStarted('run-1', 'echo', '/work');
    log.hook({ hook: 'pre_run', file: '/h/pre_run', passed: true, exit_code: 0, timed_out: false, duration_ms: 12, output: '' });
    log.runEnded('run-1', 'failed', 2_500, 'exit 3');
    return lines;
  };

  it('colours lines on a terminal and writes plain timestamped lines otherwise', () => {
    const tty = capture(true, 'normal');
    expect(tty.every((line) => line.includes('\x1b['))).toBe(true);
    const plain = capture(false, 'normal');
    expect(plain.some((line) => line.includes('\x1b['))).toBe(false);
    expect(plain[0]).toMatch(/^\d{4}-\d{2}-\d{2}T.* ▶ run run-1 agent echo in \/work$/);
    expect(plain.at(-1)).toMatch(/■ failed run-1 after 2\.5s: exit 3$/);
  });

  it('shows hook details only when verbose, and only run ends and errors when quiet', () => {
    expect(capture(false, 'normal').some((line) => line.includes('hook pre_run passed'))).toBe(false);
    expect(capture(false, 'verbose').some((line) => line.includes('hook pre_run passed'))).toBe(true);
    const quiet = capture(false, 'quiet');
    expect(quiet).toHaveLength(1);
    expect(quiet[0]).toContain('■ failed run-1');
  });
});

import fs from 'node:fs/promises';
import { afterEach } from 'vitest';
import type { Approval } from '../../core/contract/approvals.js';
import type { RunView } from '../../core/contract/http.js';
import { isFinalRunStatus } from '../../core/contract/run-status.js';
import type { TestStack } from './stack.js';

/**
 * What the supervised-run test files share: runs a test started are stopped after it (a failed
 * test may leave one waiting), turns it did not use are dropped so the next test starts clean,
 * and the approval helpers. Call it at the top of a test file; the getters are read per test.
 */
export function approvalRuns(stack: () => TestStack, endpoint: () => { mainRequests: unknown[] }, turns: unknown[], operator: () => string) {
  const started: string[] = [];
  afterEach(async () => {
    for (const id of started.splice(0)) {
      const { body } = await stack().api<RunView>('GET', `/runs/${id}`);
      if (!isFinalRunStatus(body.status)) await stack().api('POST', `/runs/${id}/stop?wait=true`);
    }
    turns.length = Math.min(turns.length, endpoint().mainRequests.length);
  });
  const pending = (run: RunView): Approval[] => (run.approvals ?? []).filter((approval) => approval.status === 'pending');
  return {
    /** Remembers a run the test started, so it is stopped after the test. */
    track: (id: string): string => {
      started.push(id);
      return id;
    },
    pending,
    waitForPending: (id: string, count = 1): Promise<RunView> => stack().waitForRun(id, (run) => run.status === 'waiting_for_approval' && pending(run).length >= count),
    decide: (id: string, approvalId: string, body: Record<string, unknown>, token = operator()) =>
      stack().api<Approval & { error?: string; details?: { type: string } }>('POST', `/runs/${id}/approvals/${approvalId}`, { body, token }),
    exists: (file: string): Promise<boolean> => fs.stat(file).then(() => true, () => false),
  };
}

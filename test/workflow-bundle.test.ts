import fs from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { Review } from '../core/contract/flows.js';
import { reviewOf } from '../core/contract/plain/flows.js';

/** The modules a bundle holds: webpack names each in a `/***\/ "<path>"` line. */
async function modulesOf(bundlePath: string): Promise<string[]> {
  const code = await fs.readFile(bundlePath, 'utf8');
  return [...code.matchAll(/^\/\*{3}\/ "([^"]+)"/gm)].map((match) => match[1]!);
}

describe('the workflow bundle', () => {
  // Every workflow evaluates its bundle's modules when it starts (workers/workflow-bundle.ts): schemas there cost every run.
  it('holds the workflows and the tracing interceptors, and no zod (workflows import core/contract/plain)', async () => {
    const modules = await modulesOf(inject('workflowBundle'));
    expect(modules.some((module) => module.includes('workflows/run.ts'))).toBe(true);
    expect(modules.some((module) => module.includes('interceptors-opentelemetry/lib/workflow'))).toBe(true);
    expect(modules.filter((module) => module.includes('node_modules/zod/') || module.startsWith('./api/'))).toEqual([]);
  });

  it('reads a review (reviewOf, zod-free) as the Review schema does', () => {
    const outputs: unknown[] = [
      { verdict: 'approve', comments: [] },
      { verdict: 'request_changes', comments: ['add a test', 'rename x'], extra: 1 },
      { verdict: 'approve' },
      { verdict: 'maybe', comments: [] },
      { verdict: 'approve', comments: ['ok', 2] },
      { verdict: 'approve', comments: 'ok' },
      null,
      'approve',
      [],
      undefined,
    ];
    for (const output of outputs) {
      const parsed = Review.safeParse(output);
      expect(reviewOf(output), JSON.stringify(output)).toEqual(parsed.success ? parsed.data : undefined);
    }
  });
});

import { patched } from '@temporalio/workflow';

/**
 * Many patches asked with one marker. Each `patched()` records a marker and a `TemporalChangeVersion`
 * search attribute upsert (one more visibility write on the server), and a run asked about ten. A
 * workflow started by a release that has `marker` records it once, in its first workflow task, and
 * then every patch in `covered` is in effect without being asked; one started before that release
 * replays without the marker and asks each patch as it did. A patch added later is not covered: it is
 * asked on its own (or under a new marker). Call this before the workflow's first await.
 */
export function patchesUnder<const Covered extends readonly string[]>(marker: string, covered: Covered): (patchId: Covered[number]) => boolean {
  const current = patched(marker);
  const known = new Set<string>(covered);
  return (patchId) => {
    if (!known.has(patchId)) throw new Error(`patch ${patchId} is not covered by ${marker}: ask it with patched()`);
    return current || patched(patchId);
  };
}

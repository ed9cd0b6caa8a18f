import { patched } from '@temporalio/workflow';

/** One release's marker and every patch in effect for a workflow that recorded it. */
export interface PatchGeneration<Patch extends string> {
  marker: string;
  covers: readonly Patch[];
}

/**
 * Many patches asked with one marker. Each `patched()` records a marker and a `TemporalChangeVersion`
 * search attribute upsert (one more visibility write on the server), and a run asked about ten. A
 * workflow started by a release records the newest generation's marker once, in its first workflow
 * task, and then every patch it covers is in effect without being asked. One started by an earlier
 * release replays with that release's marker (the first generation whose marker it recorded), or,
 * from before any marker, asks each patch as it did. A patch added later and covered by no marker
 * throws: ask it with `patched()` on its own, or add a generation. Newest generation first; call this
 * before the workflow's first await.
 */
export function patchesUnder<const Patch extends string>(generations: readonly PatchGeneration<Patch>[]): (patchId: Patch) => boolean {
  const known = new Set<string>(generations.flatMap((generation) => generation.covers));
  // A new workflow records only the newest marker: asking stops at the first marker in effect.
  const inEffect = new Set<string>(generations.find((generation) => patched(generation.marker))?.covers ?? []);
  return (patchId) => {
    if (!known.has(patchId)) throw new Error(`patch ${patchId} is covered by no marker: ask it with patched()`);
    return inEffect.has(patchId) || patched(patchId);
  };
}

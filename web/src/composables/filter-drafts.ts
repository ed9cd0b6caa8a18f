import { reactive, watch } from 'vue';

/**
 * What is typed into a filter's text fields stays until it is committed (change: Enter or leaving
 * the field). Bound to the committed values alone, every re-render (each list reload brings new
 * suggestions) put the committed value back into the field and threw the typing away. A new
 * committed value (Clear filters, back and forward, another field's change) still shows at once.
 */
export function useFilterDrafts<K extends string>(values: () => Record<K, string>, keys: readonly K[]): Record<K, string> {
  const drafts = reactive(Object.fromEntries(keys.map((key) => [key, values()[key]]))) as Record<K, string>;
  for (const key of keys) {
    watch(
      () => values()[key],
      (committed) => {
        drafts[key] = committed;
      },
    );
  }
  return drafts;
}

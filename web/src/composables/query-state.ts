import { computed, type ComputedRef } from 'vue';
import { useRoute, useRouter, type LocationQuery } from 'vue-router';

function firstValue(value: LocationQuery[string] | undefined): string {
  const item = Array.isArray(value) ? value[0] : value;
  return item ?? '';
}

/**
 * Page state kept in the URL query (filters), so a reload or a shared link shows the same view.
 * An empty value removes its key; changes replace the history entry instead of adding one.
 */
export function useQueryState<K extends string>(
  keys: readonly K[],
): { values: ComputedRef<Record<K, string>>; set: (key: K, value: string) => void; clear: () => void } {
  const route = useRoute();
  const router = useRouter();
  const values = computed(() => Object.fromEntries(keys.map((key) => [key, firstValue(route.query[key])])) as Record<K, string>);

  function set(key: K, value: string): void {
    const query: LocationQuery = { ...route.query };
    if (value.trim()) query[key] = value.trim();
    else delete query[key];
    void router.replace({ query });
  }

  function clear(): void {
    const query: LocationQuery = { ...route.query };
    for (const key of keys) delete query[key];
    void router.replace({ query });
  }

  return { values, set, clear };
}

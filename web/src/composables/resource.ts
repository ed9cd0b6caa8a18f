import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';

export interface Resource<T> {
  data: ShallowRef<T | undefined>;
  error: ShallowRef<unknown>;
  /** True while a load runs; the first load is the one with no data yet. */
  loading: Ref<boolean>;
  refresh: () => Promise<void>;
}

/**
 * Data loaded from the API with its loading and error state. A failed refresh keeps the last
 * data (a list does not blank out while the API restarts) and sets `error`; the next success clears it.
 * Overlapping refreshes keep only the newest answer.
 */
export function useResource<T>(load: () => Promise<T>): Resource<T> {
  const data = shallowRef<T>();
  const error = shallowRef<unknown>();
  const loading = ref(false);
  let generation = 0;

  async function refresh(): Promise<void> {
    const mine = ++generation;
    loading.value = true;
    try {
      const value = await load();
      if (mine !== generation) return;
      data.value = value;
      error.value = undefined;
    } catch (caught) {
      if (mine === generation) error.value = caught;
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  return { data, error, loading, refresh };
}

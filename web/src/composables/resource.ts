import { getCurrentScope, onScopeDispose, ref, shallowRef, type Ref, type ShallowRef } from 'vue';

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
 * Only the newest request counts: a refresh cancels the one in flight (through the signal `load`
 * gets), and an answer to a superseded request is dropped even if it comes anyway, so a slow answer
 * to an old filter can never replace the current one's. Leaving the page cancels the request too.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const data = shallowRef<T>();
  const error = shallowRef<unknown>();
  const loading = ref(false);
  let current: AbortController | undefined;

  async function refresh(): Promise<void> {
    current?.abort();
    const mine = new AbortController();
    current = mine;
    loading.value = true;
    try {
      const value = await load(mine.signal);
      if (mine !== current) return;
      data.value = value;
      error.value = undefined;
    } catch (caught) {
      if (mine === current) error.value = caught;
    } finally {
      if (mine === current) loading.value = false;
    }
  }

  // A page's resource ends with the page; a store's lives as long as the app.
  if (getCurrentScope()) {
    onScopeDispose(() => {
      current?.abort();
      current = undefined;
    });
  }

  return { data, error, loading, refresh };
}

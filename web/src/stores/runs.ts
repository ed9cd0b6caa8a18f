import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { RunFilter } from '../api/client';
import type { CreateRunBody } from '../api/contract';
import { useApi } from '../composables/api';
import { useResource } from '../composables/resource';

/** Runs per page unless the address says otherwise. */
export const DEFAULT_PAGE_SIZE = 100;

/** The runs list as last loaded for the current filter, and starting and stopping runs. */
export const useRunsStore = defineStore('runs', () => {
  const api = useApi();
  const filter = ref<RunFilter>({});
  const list = useResource((signal) => api.listRuns({ limit: DEFAULT_PAGE_SIZE, ...filter.value }, { signal }));

  function load(next: RunFilter): Promise<void> {
    // Rows of another filter must not stand in for this one's while it loads (or if the API refuses it).
    if (JSON.stringify(next) !== JSON.stringify(filter.value)) {
      list.data.value = undefined;
      list.error.value = undefined;
    }
    filter.value = next;
    return list.refresh();
  }

  return {
    runs: list.data,
    error: list.error,
    loading: list.loading,
    filter,
    load,
    start: (body: CreateRunBody) => api.createRun(body),
    stop: (id: string, graceful = true) => api.stopRun(id, 'stopped from the dashboard', graceful),
  };
});

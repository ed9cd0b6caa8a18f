import { defineStore } from 'pinia';
import { computed } from 'vue';
import { PERSON_WAITING_STATUSES, type RunSummary } from '../api/contract';
import { useApi } from '../composables/api';
import { useResource } from '../composables/resource';

/** At most this many waiting runs are named; the count says when there are more. */
const WAITING_LIMIT = 50;

/** Runs waiting for a person, whatever page is open: the header counts them, the runs list puts them first. */
export const useWaitingStore = defineStore('waiting', () => {
  const api = useApi();
  const list = useResource(async (signal) => {
    const pages = await Promise.all(PERSON_WAITING_STATUSES.map((status) => api.listRuns({ status, limit: WAITING_LIMIT }, { signal })));
    return pages.flatMap((page) => page.runs);
  });
  const runs = computed<RunSummary[]>(() => list.data.value ?? []);
  return { runs, count: computed(() => runs.value.length), error: list.error, load: list.refresh };
});

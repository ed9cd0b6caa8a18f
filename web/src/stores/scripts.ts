import { defineStore } from 'pinia';
import { computed } from 'vue';
import type { ReadOptions } from '../api/client';
import { isBroken, type ScriptInput, type ScriptSummary } from '../api/contract';
import { useApi } from '../composables/api';
import { useResource } from '../composables/resource';

/** Scripts (centrally managed, synced to runners): the list, broken files, and edits. */
export const useScriptsStore = defineStore('scripts', () => {
  const api = useApi();
  const list = useResource(async (signal) => (await api.listScripts({ signal })).scripts);
  const valid = computed(() => (list.data.value ?? []).filter((entry): entry is ScriptSummary => !isBroken(entry)));
  const broken = computed(() => (list.data.value ?? []).filter(isBroken));

  async function save(script: ScriptInput, existing: boolean): Promise<void> {
    const { name, ...fields } = script;
    // Every field, so the stored script becomes what the editor shows; an emptied schema is cleared.
    if (existing) await api.updateScript(name, { ...fields, parameters_schema: fields.parameters_schema ?? null });
    else await api.createScript(script);
    void list.refresh();
  }

  async function remove(name: string): Promise<void> {
    await api.deleteScript(name);
    await list.refresh();
  }

  return {
    scripts: list.data,
    valid,
    broken,
    error: list.error,
    loading: list.loading,
    load: list.refresh,
    get: (name: string, options?: ReadOptions) => api.getScript(name, options),
    save,
    remove,
  };
});

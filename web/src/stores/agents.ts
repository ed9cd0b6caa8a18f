import { defineStore } from 'pinia';
import { computed } from 'vue';
import type { ReadOptions } from '../api/client';
import { isBroken, type AgentType } from '../api/contract';
import { agentPatch } from '../lib/agent-form';
import { useApi } from '../composables/api';
import { useResource } from '../composables/resource';

/** Agents (config/agents) through the API: the list, broken files, and edits. */
export const useAgentsStore = defineStore('agents', () => {
  const api = useApi();
  const list = useResource(async (signal) => (await api.listAgents({ signal })).agents);
  const valid = computed(() => (list.data.value ?? []).filter((entry): entry is AgentType => !isBroken(entry)));
  const broken = computed(() => (list.data.value ?? []).filter(isBroken));
  const active = computed(() => valid.value.filter((agent) => agent.status === 'active'));

  async function save(agent: AgentType, existing: boolean): Promise<AgentType> {
    const saved = existing ? await api.updateAgent(agent.name, agentPatch(agent)) : await api.createAgent(agent);
    void list.refresh();
    return saved;
  }

  async function remove(name: string): Promise<void> {
    await api.deleteAgent(name);
    await list.refresh();
  }

  return {
    agents: list.data,
    valid,
    broken,
    active,
    error: list.error,
    loading: list.loading,
    load: list.refresh,
    get: (name: string, options?: ReadOptions) => api.getAgent(name, options),
    save,
    remove,
  };
});

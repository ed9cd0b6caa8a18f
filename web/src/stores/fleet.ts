import { defineStore } from 'pinia';
import { useApi } from '../composables/api';
import { useResource } from '../composables/resource';

/** The runners and the executor profiles they can run. */
export const useFleetStore = defineStore('fleet', () => {
  const api = useApi();
  const runners = useResource(async (signal) => (await api.listRunners({ signal })).runners);
  const profiles = useResource(async (signal) => (await api.listProfiles({ signal })).profiles);

  return {
    runners: runners.data,
    runnersError: runners.error,
    runnersLoading: runners.loading,
    loadRunners: runners.refresh,
    profiles: profiles.data,
    profilesError: profiles.error,
    profilesLoading: profiles.loading,
    loadProfiles: profiles.refresh,
  };
});

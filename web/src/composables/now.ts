import { onScopeDispose, ref, type Ref } from 'vue';

/** The current time, updated every `intervalMs`, for durations of runs that have not ended. */
export function useNow(intervalMs = 1000): Ref<number> {
  const now = ref(Date.now());
  const timer = setInterval(() => (now.value = Date.now()), intervalMs);
  onScopeDispose(() => clearInterval(timer));
  return now;
}

import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

const STORAGE_KEY = 'ao.api-token';

/**
 * Takes `#token=…` from the address (what `npm start` prints) into storage and removes it from
 * the address bar, so the token is not left in history or shared by a copied link.
 */
export function adoptTokenFromUrl(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return;
  window.localStorage.setItem(STORAGE_KEY, decodeURIComponent(match[1]!));
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
}

/** The API token: kept in localStorage; a 401 marks it refused so the token page shows. */
export const useAuthStore = defineStore('auth', () => {
  const token = ref<string | undefined>(window.localStorage.getItem(STORAGE_KEY) ?? undefined);
  const refused = ref(false);

  const needsToken = computed(() => !token.value || refused.value);

  function setToken(value: string): void {
    token.value = value.trim();
    refused.value = false;
    window.localStorage.setItem(STORAGE_KEY, token.value);
  }

  /** Marks `sent` refused, unless the token changed since that request went out. */
  function markRefused(sent: string | undefined): void {
    if (sent === token.value) refused.value = true;
  }

  function forget(): void {
    token.value = undefined;
    refused.value = false;
    window.localStorage.removeItem(STORAGE_KEY);
  }

  return { token, refused, needsToken, setToken, markRefused, forget };
});

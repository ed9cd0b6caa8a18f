import { ApiClient } from '../api/client';
import { useAuthStore } from '../stores/auth';

let client: ApiClient | undefined;

/** The one API client of the app, sending the current token and reporting a refused one. */
export function useApi(): ApiClient {
  if (client) return client;
  const auth = useAuthStore();
  client = new ApiClient({ token: () => auth.token, onUnauthorized: (sent) => auth.markRefused(sent) });
  return client;
}

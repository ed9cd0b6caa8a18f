import { RUNNER_ROLE, type Principal } from '../core/contract/identity.js';

/** The runner was given a token that is not a runner credential: it would be refused on every runner route. */
export class RunnerCredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunnerCredentialError';
  }
}

/** Asks the API whose token this is; a runner needs a runner token (`POST /tokens {"role":"runner"}`). */
export async function runnerCredentialName(apiUrl: string, token: string): Promise<string> {
  const response = await fetch(`${apiUrl}/whoami`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
  // Not fatal: the token may be provisioned after the runner starts; downloads and events fail until it is.
  if (response.status === 401) throw new Error('AO_API_TOKEN is not a valid token for the API at --api-url');
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  const principal = (await response.json()) as Principal;
  if (principal.role !== RUNNER_ROLE) {
    throw new RunnerCredentialError(`AO_API_TOKEN is the ${principal.role} token "${principal.name}"; a runner needs a runner token (an admin creates one with POST /tokens {"name": …, "role": "runner"})`);
  }
  return principal.name;
}

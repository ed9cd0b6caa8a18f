import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `network: restricted` for processes ao starts itself (procedural scripts): a network namespace of
 * their own (`unshare --net`), with only a loopback device, so nothing outside the process's own
 * namespace is reachable — not the internet, not the runner's host, not its loopback services.
 * As root, loopback is brought up inside before the user is dropped; without root the namespace
 * is made inside a user namespace (`--map-current-user`), where loopback stays down.
 */

/** A constant launcher, never built from input: brings loopback up, then runs its arguments. */
const LOOPBACK_UP = 'ip link set lo up && exec "$@"';
const LAUNCHER_NAME = 'ao-netns';

export class NetworkIsolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkIsolationError';
  }
}

/** The argv prefix that runs a command in a network namespace of its own (before any `setpriv`). */
export function networkNamespacePrefix(isRoot = process.getuid?.() === 0): string[] {
  return isRoot ? ['unshare', '--net', '--', '/bin/sh', '-c', LOOPBACK_UP, LAUNCHER_NAME] : ['unshare', '--net', '--map-current-user', '--'];
}

let checked: Promise<void> | undefined;

/**
 * Checks once per runner process that it can make network namespaces here (util-linux `unshare`,
 * iproute2's `ip` as root, user namespaces without it); throws why not.
 */
export function assertNetworkIsolation(isRoot = process.getuid?.() === 0): Promise<void> {
  return (checked ??= run(networkNamespacePrefix(isRoot)[0]!, [...networkNamespacePrefix(isRoot).slice(1), 'true'], { timeout: 10_000 }).then(
    () => undefined,
    (error: { stderr?: string; message: string }) => {
      checked = undefined;
      const why = error.stderr?.trim() || error.message;
      throw new NetworkIsolationError(
        `network: restricted needs a network namespace of its own for the script, and this runner cannot make one (${why})${isRoot ? '' : '; a runner that is not root needs unprivileged user namespaces'}`,
      );
    },
  ));
}

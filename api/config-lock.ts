/**
 * Serialises config changes in this API process: a check (is the script still used?) and the
 * change it guards happen with no other change between them.
 */
export class ConfigLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(change: () => Promise<T>): Promise<T> {
    const next = this.tail.then(change, change);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

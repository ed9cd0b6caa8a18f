/**
 * The run's own timeout, on the runner: a clock that stops while the run waits for a person, so
 * time spent waiting for an approval does not count against the run's timeout.
 */
export class RunClock {
  private timer: NodeJS.Timeout | undefined;
  private remainingMs: number;
  private startedAt = 0;
  private pauses = 0;
  private done = false;

  constructor(limitMs: number, private readonly onExpired: () => void) {
    this.remainingMs = limitMs;
    this.run();
  }

  /** Stops the clock; pauses nest (several approvals may be pending at once). */
  pause(): void {
    this.pauses += 1;
    if (this.pauses > 1 || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.remainingMs -= Date.now() - this.startedAt;
  }

  resume(): void {
    if (this.pauses === 0) return;
    this.pauses -= 1;
    if (this.pauses === 0) this.run();
  }

  stop(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    if (this.done) return;
    this.startedAt = Date.now();
    this.timer = setTimeout(() => {
      this.done = true;
      this.onExpired();
    }, Math.max(0, this.remainingMs));
  }
}

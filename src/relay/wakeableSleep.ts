/**
 * A sleep that `wake()` ends early: used for the poll interval and backoff, so `stop()` (and later a NOTIFY)
 * does not wait out a timer. No timer outlives its sleep.
 */
export class WakeableSleep {
  private pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private woken = false;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve();
      }, ms);
      this.pending = { timer, resolve };
    });
  }

  /** Ends the current sleep; when none is running, the next sleep returns at once. */
  wake(): void {
    const pending = this.pending;
    if (!pending) {
      this.woken = true;
      return;
    }
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve();
  }
}

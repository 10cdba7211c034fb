// A resuming client's wait for this server's cache to reach the revision the client already has
// (it may come from a server further ahead): one wait per stream, in-process or in a worker.

export class RevisionWait {
  private timer: NodeJS.Timeout | undefined;

  /** `onTimeout` runs unless `stop` is called within `ms`. */
  start(ms: number, onTimeout: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      onTimeout();
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

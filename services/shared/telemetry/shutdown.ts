import type { Logger } from 'pino';

/**
 * Graceful shutdown: on SIGTERM or SIGINT run the registered closers in reverse order of
 * registration (last started, first stopped), then exit. A second signal, or `timeoutMs` passing,
 * exits at once with status 1 so a wedged dependency cannot hold the process forever.
 */
export class Shutdown {
  private readonly closers: Array<[string, () => Promise<void> | void]> = [];
  private started = false;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.closers.push([name, close]);
  }

  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.started) {
        this.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      void this.run(signal).then((ok) => process.exit(ok ? 0 : 1));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /** Runs every closer once; resolves true when all of them finished cleanly in time. */
  async run(reason: string): Promise<boolean> {
    if (this.started) return true;
    this.started = true;
    this.log.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      this.log.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, this.timeoutMs);
    timer.unref();
    let ok = true;
    for (const [name, close] of [...this.closers].reverse()) {
      try {
        await close();
      } catch (err) {
        ok = false;
        this.log.error({ err, component: name }, 'error while closing');
      }
    }
    clearTimeout(timer);
    this.log.info('stopped');
    return ok;
  }
}

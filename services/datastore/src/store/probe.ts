// The datastore's readiness probe: every `intervalMs`, one write and one read of the meta bucket
// within `deadlineMs` (ResourceStore.probe). NATS /healthz and a connected client both say "fine"
// while JetStream cannot store (a full disk, a stream without quorum); only doing the work shows
// it. A failed probe makes /readyz fail with the reason; the next good one makes it pass again,
// so recovery (space freed, quorum back) needs no restart.
import type { Logger } from 'pino';
import { UnavailableError } from '../../../shared/errors/index.js';
import type { ResourceStore } from './resource-store.js';

export class KvProbe {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private _ok = false;
  private _reason = 'the KV probe has not run yet';

  constructor(
    private readonly store: ResourceStore,
    private readonly intervalMs: number,
    private readonly deadlineMs: number,
    private readonly log: Logger,
    private readonly onFailure: (reason: string) => void,
  ) {}

  get ok(): boolean {
    return this._ok;
  }

  /** Why the last probe failed (for /readyz). */
  get reason(): string {
    return this._reason;
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<boolean> {
    if (this.running) return this._ok;
    this.running = true;
    try {
      await this.store.probe(this.deadlineMs);
      if (!this._ok && this._reason !== 'the KV probe has not run yet') this.log.info('KV probe passes again');
      this._ok = true;
    } catch (err) {
      const reason = err instanceof UnavailableError ? (err.reason ?? 'nats') : 'error';
      const message = err instanceof Error ? err.message : String(err);
      if (this._ok || this._reason !== message) {
        if (reason === 'storage')
          this.log.error({ err: message }, 'KV probe failed: JetStream storage is full or failing; not ready');
        else this.log.warn({ err: message, reason }, 'KV probe failed; not ready');
      }
      this.onFailure(reason);
      this._ok = false;
      this._reason = message;
    } finally {
      this.running = false;
    }
    return this._ok;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// A peer's FSM timers (RFC 4271 §8: ConnectRetry, Hold, Keepalive, DelayOpen, IdleHold, and the
// error-forget timer of the idle-hold backoff): one Node timer per FSM timer, keyed by the timer's
// name, and for the timers of one connection by name and connection id, so that closing a
// connection stops its timers. Once stopped for good (the peer removed), nothing starts again.

import type { ConnectionId } from '../fsm/index.js';

export class PeerTimers {
  private readonly timers = new Map<string, { handle: NodeJS.Timeout; ms: number }>();
  private stopped = false;

  static key(timer: string, conn?: ConnectionId): string {
    return conn === undefined ? timer : `${timer}:${conn}`;
  }

  /**
   * (Re)arms the timer under `key`. Re-arming an armed timer of the same duration refreshes it in
   * place: the hold timer is re-armed for every UPDATE received (RFC 4271 §8.2.2), and a table of
   * many small attribute sets arrives as ~100,000 UPDATEs; a new Timeout object and closure each
   * time was garbage in the import path. A key always stands for the same timer and connection,
   * so the old callback fires the same event as the new one would.
   */
  start(key: string, ms: number, fire: () => void): void {
    if (this.stopped) return;
    const old = this.timers.get(key);
    if (old && old.ms === ms) {
      old.handle.refresh();
      return;
    }
    if (old) clearTimeout(old.handle);
    this.timers.set(key, { handle: setTimeout(fire, ms), ms });
  }

  stop(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t.handle);
    this.timers.delete(key);
  }

  /** The duration the timer under `key` was armed with, if it is armed (or just fired). */
  armedFor(key: string): number | undefined {
    return this.timers.get(key)?.ms;
  }

  /** A timer fired: it is no longer armed. */
  fired(key: string): void {
    this.timers.delete(key);
  }

  /** Stops the timers of one connection. */
  stopConnection(conn: ConnectionId): void {
    for (const key of [...this.timers.keys()]) if (key.endsWith(`:${conn}`)) this.stop(key);
  }

  /** Stops every timer; with `forGood`, none starts again. */
  stopAll(forGood: boolean): void {
    if (forGood) this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
  }
}

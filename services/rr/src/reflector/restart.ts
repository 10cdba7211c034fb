// Our own graceful restart (RFC 4724 §4.1), as the restarting speaker: the RIB was restored from
// persistence, sessions come up advertising restored best paths, and End-of-RIB to each peer waits,
// per address family, until we re-converged in that family: every configured peer that can
// restart gracefully is up and sent its End-of-RIB for the family, and the origination source
// (static routes, the datastore) confirmed our own routes. The selection deferral timer bounds
// the wait. Restored routes that nobody confirmed by then are swept.

import type { Logger } from 'pino';
import type { PeerEntry } from './peer-entry.js';

const AFI_OF: Record<number, 4 | 6> = { 1: 4, 2: 6 };

/** What the restart needs of the reflector. */
export interface RestartHost {
  readonly log: Logger;
  /** Every configured peer. */
  peers(): Iterable<PeerEntry>;
  /** Drops the stale routes of the family, every peer's and our own; returns how many. */
  sweepStale(fam: 4 | 6): number;
  /** Schedules export work. */
  kick(): void;
  /** Resolves once nothing is queued for export. */
  whenIdle(): Promise<void>;
  sendEndOfRib(e: PeerEntry, afi: number, safi: number): void;
  /** Every family re-converged: the speaker stops advertising the restart; listeners hear of it. */
  finished(): void;
}

export class GracefulRestart {
  private readonly host: RestartHost;
  private restarting: boolean;
  /** Families still re-converging (RFC 4724 §4.1 works per address family). */
  private readonly families = new Set<4 | 6>();
  private deferralTimer: NodeJS.Timeout | undefined;
  /** Originated routes are confirmed (static config applied / datastore in sync). */
  private originConfirmed = false;

  constructor(host: RestartHost, restarting: boolean) {
    this.host = host;
    this.restarting = restarting;
    if (restarting) for (const f of [4, 6] as const) this.families.add(f);
  }

  get isRestarting(): boolean {
    return this.restarting;
  }

  /** End-of-RIB for this family waits for the restart to finish in it. */
  defers(fam: 4 | 6): boolean {
    return this.families.has(fam);
  }

  /** Arms the selection deferral timer (RFC 4724 §4.1): the longest we wait for peers. */
  start(selectionDeferralSeconds: number): void {
    if (!this.restarting) return;
    this.deferralTimer = setTimeout(() => {
      this.host.log.warn(
        { families: [...this.families] },
        'selection deferral timer expired: finishing the restart without every End-of-RIB',
      );
      for (const f of [...this.families]) this.finishFamily(f);
    }, selectionDeferralSeconds * 1000);
    this.deferralTimer.unref();
  }

  close(): void {
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
  }

  /** The origination source is complete. */
  confirmOriginated(): void {
    this.originConfirmed = true;
    this.check();
  }

  /** Finishes every family in which every peer that can restart gracefully sent End-of-RIB. */
  check(): void {
    if (!this.restarting || !this.originConfirmed) return;
    for (const fam of [...this.families]) {
      let done = true;
      for (const e of this.host.peers()) {
        const n = e.negotiated;
        if (!n) {
          done = false;
          break;
        }
        if (!n.peerGracefulRestart) continue;
        if (n.families.some((f) => AFI_OF[f.afi] === fam) && !e.eorReceived.has(fam)) {
          done = false;
          break;
        }
      }
      if (done) this.finishFamily(fam);
    }
  }

  private finishFamily(fam: 4 | 6): void {
    if (!this.families.delete(fam)) return;
    // Restored routes of the family that nobody confirmed are stale for good.
    const swept = this.host.sweepStale(fam);
    this.host.kick();
    const last = this.families.size === 0;
    if (last && this.deferralTimer) {
      clearTimeout(this.deferralTimer);
      this.deferralTimer = undefined;
    }
    void this.host.whenIdle().then(() => {
      for (const e of this.host.peers()) {
        if (!e.eorDeferred.delete(fam) || !e.negotiated) continue;
        for (const f of e.negotiated.families) if (AFI_OF[f.afi] === fam) this.host.sendEndOfRib(e, f.afi, f.safi);
      }
      this.host.log.info({ family: `ipv${fam}`, swept }, 'restart complete for the family: End-of-RIB sent');
      if (last) {
        this.restarting = false;
        this.host.finished();
      }
    });
  }
}

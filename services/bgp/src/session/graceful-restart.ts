// Graceful restart, helper side (RFC 4724 §4.2, RFC 9494 for long-lived stale routes). When a
// session with a peer that advertised graceful restart is lost (TCP failure, or the peer
// reconnects while the old session looks alive), the peer's routes of the families it listed are
// kept, marked stale, by the layer above; this tracker tells it when to drop them:
//
//   session lost ──> retained families (sessionDown.retained); restart timer = peer's restart time
//   restart timer fires before the session is back ──> long-lived stale (RFC 9494, when both sides
//       advertised LLGR for the family; purge after its stale time) or purge
//   session back ──> a family the new OPEN no longer preserves (absent, F bit clear) is purged at
//       once; the others wait for the peer's End-of-RIB (purge then) or the stale-path timer
//
// Hold timer expiry retains routes only when long-lived graceful restart was negotiated (the peer
// asked for it to survive dead sessions; BIRD does the same). Any NOTIFICATION ends helping.
import type { AfiSafi, NegotiatedOptions } from '../codec/index.js';
import type { DownReason } from '../fsm/index.js';
import type { StaleRoutesEvent } from './types.js';

type Emit = (e: Pick<StaleRoutesEvent, 'afi' | 'safi' | 'action' | 'cause'>) => void;

interface StaleFamily {
  afi: number;
  safi: number;
  /** RFC 9494 stale time the peer asked for (0: no long-lived phase). */
  longLivedTime: number;
  phase: 'restart' | 'long-lived' | 'waiting-eor';
  timer?: NodeJS.Timeout;
}

const key = (afi: number, safi: number): string => `${afi}/${safi}`;

/** The longest delay setTimeout takes; RFC 9494 stale times (24 bits of seconds) exceed it. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class GracefulRestartHelper {
  private readonly stale = new Map<string, StaleFamily>();
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: Emit,
    /** Seconds to wait for End-of-RIB once the session is back. */
    private readonly stalePathTime: number,
  ) {}

  /** Families currently held stale. */
  families(): AfiSafi[] {
    return [...this.stale.values()].map(({ afi, safi }) => ({ afi, safi }));
  }

  /**
   * The Established session ended. Returns the families whose routes are retained (stale).
   * `weHelp`: we advertised the capability; `weLongLived`: we advertised LLGR.
   */
  sessionLost(n: NegotiatedOptions, reason: DownReason, weHelp: boolean, weLongLived: boolean): AfiSafi[] {
    const gr = n.peerGracefulRestart;
    const llgr = weLongLived ? n.peerLongLivedGracefulRestart : undefined;
    const tcpLoss = reason.kind === 'connection-lost' || reason.kind === 'peer-restarted';
    const eligible =
      weHelp &&
      (gr !== undefined || llgr !== undefined) &&
      (tcpLoss || (reason.kind === 'hold-timer-expired' && llgr !== undefined));
    const retained: StaleFamily[] = [];
    if (eligible) {
      for (const f of n.families) {
        const inGr = gr?.afis.some((a) => a.afi === f.afi && a.safi === f.safi) ?? false;
        const ll = llgr?.afis.find((a) => a.afi === f.afi && a.safi === f.safi);
        const longLivedTime = ll?.staleTime ?? 0;
        if (!inGr && longLivedTime === 0) continue;
        retained.push({ afi: f.afi, safi: f.safi, longLivedTime, phase: 'restart' });
      }
    }
    // Families still stale from an earlier restart and not retained now are gone.
    for (const [k, s] of this.stale) {
      if (!retained.some((r) => key(r.afi, r.safi) === k)) this.purge(s, 'not-preserved');
    }
    for (const s of this.stale.values()) if (s.timer) clearTimeout(s.timer);
    this.stale.clear();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (retained.length === 0) return [];
    for (const r of retained) this.stale.set(key(r.afi, r.safi), r);
    // RFC 4724 §4.2: the restart time bounds how long we wait for the session to come back; a
    // family known only through LLGR goes long-lived at once (restart time 0).
    const restartTime = gr?.restartTime ?? 0;
    this.restartTimer = setTimeout(() => this.restartExpired(), restartTime * 1000);
    return retained.map(({ afi, safi }) => ({ afi, safi }));
  }

  /** The session is Established again with these options. */
  sessionUp(n: NegotiatedOptions): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const s of [...this.stale.values()]) {
      if (s.timer) clearTimeout(s.timer);
      const gr = n.peerGracefulRestart?.afis.find((a) => a.afi === s.afi && a.safi === s.safi);
      const ll = n.peerLongLivedGracefulRestart?.afis.find((a) => a.afi === s.afi && a.safi === s.safi);
      // RFC 4724 §4.2: a family absent from the new capability, or with the Forwarding State bit
      // clear, loses its stale routes at once (RFC 9494 §4.2 likewise for the LLGR capability).
      const preserved =
        s.phase === 'long-lived'
          ? ll?.forwardingState === true || gr?.forwardingState === true
          : gr?.forwardingState === true;
      const stillNegotiated = n.families.some((f) => f.afi === s.afi && f.safi === s.safi);
      if (!preserved || !stillNegotiated) {
        this.purge(s, 'not-preserved');
        continue;
      }
      s.phase = 'waiting-eor';
      s.timer = setTimeout(() => this.purge(s, 'stale-timer'), this.stalePathTime * 1000);
    }
  }

  /** End-of-RIB from the peer: its stale routes of the family that were not refreshed go. */
  endOfRib(afi: number, safi: number): void {
    const s = this.stale.get(key(afi, safi));
    if (s && s.phase === 'waiting-eor') this.purge(s, 'end-of-rib');
  }

  /** The peer is removed: everything stale goes now. */
  dispose(cause: StaleRoutesEvent['cause'] = 'peer-removed'): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const s of [...this.stale.values()]) this.purge(s, cause);
  }

  private restartExpired(): void {
    this.restartTimer = undefined;
    for (const s of [...this.stale.values()]) {
      if (s.phase !== 'restart') continue;
      if (s.longLivedTime > 0) {
        s.phase = 'long-lived';
        this.emit({ afi: s.afi, safi: s.safi, action: 'long-lived', cause: 'restart-timer' });
        this.armUntil(s, Date.now() + s.longLivedTime * 1000, () => this.purge(s, 'long-lived-timer'));
      } else {
        this.purge(s, 'restart-timer');
      }
    }
  }

  /** Runs `fn` at `deadline`, in steps when it is further away than setTimeout allows. */
  private armUntil(s: StaleFamily, deadline: number, fn: () => void): void {
    const wait = Math.max(0, deadline - Date.now());
    s.timer = setTimeout(
      () => (wait > MAX_TIMEOUT_MS ? this.armUntil(s, deadline, fn) : fn()),
      Math.min(wait, MAX_TIMEOUT_MS),
    );
  }

  private purge(s: StaleFamily, cause: StaleRoutesEvent['cause']): void {
    if (s.timer) clearTimeout(s.timer);
    if (this.stale.get(key(s.afi, s.safi)) !== s) return;
    this.stale.delete(key(s.afi, s.safi));
    this.emit({ afi: s.afi, safi: s.safi, action: 'purge', cause });
  }
}

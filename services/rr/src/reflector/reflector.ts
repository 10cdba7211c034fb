// The route reflector: the BGP speaker (sessions), the RIB (tables, best path) and the exporter
// (update groups) wired together, with configuration applied live.
//
// Sequence per peer:
//   configured ──> speaker connects / accepts ──> Established: the peer joins the update group of
//   its outbound view; the group's table is sent (walk or replay), then End-of-RIB per family
//   (after our own restart: only once we re-converged, RFC 4724 §4.1)
//   UPDATE ──> import policy + RIB ──> dirty destinations ──> exporter step (chunked, yields)
//   session down ──> leave group; routes withdrawn, or kept stale when the peer restarts
//   (RFC 4724 helper: the speaker says which families), swept at its End-of-RIB or timer.
// Configuration changes touch one peer: adding a peer resets no other session; changing one
// resets only that one (the speaker decides whether its OPEN changes).

import type { Logger } from 'pino';
import type { Meter } from '@opentelemetry/api';
import { createLogger } from '../../../shared/log/index.js';
import { NotFoundError } from '../../../shared/errors/index.js';
import {
  BgpSpeaker,
  CeaseSubcode,
  type BgpTransport,
  type PathAttributes,
  type Prefix,
  type UpdateEvent,
} from '../../../bgp/index.js';
import { Rib, type PeerKind, type RibPeer } from '../rib/rib.js';
import type { AttrSet } from '../rib/attr-set.js';
import { Exporter, type ExportSink } from '../export/exporter.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import type { PeerSettings, ReflectorSettings } from '../config/types.js';
import { samePeerSettings } from '../config/equal.js';
import { PeerEntry, kindOf, sameRouting } from './peer-entry.js';
import { GracefulRestart } from './restart.js';
import { groupSpec, ribPeerInfo, sessionConfig } from './peer-settings.js';

export interface ReflectorOptions {
  readonly settings: ReflectorSettings;
  readonly transport?: BgpTransport;
  readonly logger?: Logger;
  readonly meter?: Meter;
  /**
   * The RIB was restored from persistence: act as the restarting speaker (RFC 4724 R bit,
   * forwarding state preserved), advertise restored best paths as sessions come up and send
   * End-of-RIB once re-converged.
   */
  readonly restarting?: boolean;
  /** Destinations per exporter step before yielding to the event loop (adapted at run time). */
  readonly exportBudget?: number;
}

export interface ReflectorEvents {
  /** A peer's session state changed. */
  peerState?(address: string, state: string): void;
  /** Our restart finished: End-of-RIB sent to every peer that is up. */
  restartComplete?(): void;
  /** A peer sent End-of-RIB for a family (its routes of it are complete). */
  endOfRib?(address: string, afi: 4 | 6): void;
  /** A session came up; `bgpId` is the peer's BGP identifier. */
  established?(address: string, bgpId: string): void;
}

const AFI_OF: Record<number, 4 | 6> = { 1: 4, 2: 6 };

/**
 * Fewest destinations per exporter step: about three full UPDATEs of IPv4 prefixes (~800 each).
 * Measured with 40 receivers and 100k prefixes: a floor of 256 let the budget collapse (the
 * per-member writes keep every step slow) and sent 2-2.4x the UPDATEs of a full packing.
 */
const MIN_BUDGET = 2048;

/** A peer whose send queue stays full this long no longer holds back its update group. */
const STALL_MS = 10_000;

export class Reflector {
  readonly rib: Rib;
  readonly exporter: Exporter;
  readonly speaker: BgpSpeaker;
  readonly settings: ReflectorSettings;
  private readonly log: Logger;
  private readonly entries = new Map<string, PeerEntry>();
  private readonly byIdx = new Map<number, PeerEntry>();
  private scheduled = false;
  private closed = false;
  private budget: number;
  private readonly restart: GracefulRestart;
  private idleWaiters: (() => void)[] = [];
  private stallTimer: NodeJS.Timeout | undefined;
  events: ReflectorEvents = {};

  constructor(options: ReflectorOptions) {
    const s = options.settings;
    this.settings = s;
    this.log = (options.logger ?? createLogger('rr')).child({ subsystem: 'reflector' });
    this.budget = options.exportBudget ?? 4096;
    const restarting = options.restarting === true;
    this.rib = new Rib(
      { localAs: s.asNumber, routerId: s.routerId, clusterId: s.clusterId, alwaysCompareMed: s.alwaysCompareMed },
      new PeerPolicy('iBGP', []),
    );
    const gr = s.gracefulRestart;
    this.speaker = new BgpSpeaker({
      localAs: s.asNumber,
      routerId: s.routerId,
      listen: s.listen,
      gracefulRestart: {
        restartTime: gr.restartTime,
        restarting,
        forwardingState: restarting,
        stalePathTime: gr.stalePathTime,
      },
      ...(gr.longLivedStaleTime > 0 ? { longLivedGracefulRestart: { staleTime: gr.longLivedStaleTime } } : {}),
      ...(options.transport ? { transport: options.transport } : {}),
      logger: this.log,
      // The RIB finds IPv4 destinations from the withdrawn octets (Rib.withdrawWire).
      wireWithdrawals: true,
      ...(options.meter ? { meter: options.meter } : {}),
    });
    this.exporter = new Exporter(this.rib, this.sink());
    this.restart = new GracefulRestart(
      {
        log: this.log,
        peers: () => this.entries.values(),
        sweepStale: (fam) => {
          let swept = 0;
          for (const e of this.entries.values()) swept += this.rib.sweepStale(e.ribIdx, fam);
          return swept + this.rib.sweepStale(this.rib.localPeer.idx, fam);
        },
        kick: () => this.kick(),
        whenIdle: () => this.whenIdle(),
        sendEndOfRib: (e, afi, safi) => this.sendEndOfRib(e, afi, safi),
        finished: () => {
          this.speaker.restartComplete();
          this.log.info('restart complete: End-of-RIB sent');
          this.events.restartComplete?.();
        },
      },
      restarting,
    );
    this.wireSpeaker();
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    await this.speaker.start();
    this.restart.start(this.settings.gracefulRestart.selectionDeferralTime);
    this.kick();
  }

  async close(message?: string): Promise<void> {
    this.closed = true;
    this.restart.close();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    for (const e of this.entries.values()) if (e.restartTimer) clearTimeout(e.restartTimer);
    await this.speaker.close(message);
  }

  get listenPort(): number | undefined {
    return this.speaker.listenPort;
  }

  get isRestarting(): boolean {
    return this.restart.isRestarting;
  }

  /** Resolves once nothing is queued for export (tests, benchmarks, restart completion). */
  whenIdle(): Promise<void> {
    if (this.exporter.idle) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  // ---------------------------------------------------------------- configuration

  /** Applies a whole peer list: adds, changes and removes only what differs. */
  async setPeers(list: readonly PeerSettings[]): Promise<void> {
    const want = new Map(list.map((p) => [p.address, p]));
    for (const addr of [...this.entries.keys()]) if (!want.has(addr)) await this.removePeer(addr);
    for (const p of list) {
      const cur = this.entries.get(p.address);
      if (!cur) this.addPeer(p);
      else if (!samePeerSettings(cur.settings, p)) this.updatePeer(p);
    }
  }

  addPeer(s: PeerSettings): void {
    const rp = this.rib.addPeer(ribPeerInfo(this.settings, s));
    const e = new PeerEntry(s, rp.idx);
    this.entries.set(s.address, e);
    this.byIdx.set(rp.idx, e);
    this.speaker.addPeer(sessionConfig(this.settings, s, this.restart.isRestarting));
    this.log.info({ peer: s.address, as: s.asNumber, kind: kindOf(s, this.settings.asNumber) }, 'peer added');
  }

  /**
   * Changes one peer. Anything that changes what it receives or how we treat its routes (kind,
   * policy, next hop, limits) resets its session so both sides start from a clean table.
   */
  updatePeer(s: PeerSettings): void {
    const e = this.entry(s.address);
    const old = e.settings;
    e.settings = s;
    const routing = !sameRouting(old, s, this.settings.asNumber);
    if (routing) {
      // The session restarts: drop its routes now so the RIB entry can take the new settings.
      this.exporter.leave(e.ribIdx);
      this.rib.flushPeer(e.ribIdx);
      this.rib.updatePeer(e.ribIdx, ribPeerInfo(this.settings, s));
      this.speaker.updatePeer(s.address, sessionConfig(this.settings, s, this.restart.isRestarting));
      this.speaker.reset(s.address, 'configuration changed');
    } else {
      this.speaker.updatePeer(s.address, sessionConfig(this.settings, s, this.restart.isRestarting));
    }
    this.log.info({ peer: s.address, reset: routing }, 'peer updated');
  }

  async removePeer(address: string): Promise<void> {
    const e = this.entry(address);
    this.entries.delete(address);
    this.byIdx.delete(e.ribIdx);
    if (e.restartTimer) clearTimeout(e.restartTimer);
    this.exporter.leave(e.ribIdx);
    await this.speaker.removePeer(address);
    this.rib.retirePeer(e.ribIdx);
    this.kick();
    this.log.info({ peer: address }, 'peer removed');
  }

  peerSettings(): PeerSettings[] {
    return [...this.entries.values()].map((e) => e.settings);
  }

  /** The RIB peer of a configured neighbour. */
  ribPeer(address: string): RibPeer {
    return this.rib.peers[this.entry(address).ribIdx]!;
  }

  // ---------------------------------------------------------------- origination

  /** Announces (or replaces) a route we originate; `nextHop` '' = ourselves. */
  originate(prefix: Prefix, attrs: PathAttributes, nextHop: string): void {
    this.rib.originate(prefix, attrs, nextHop);
    this.kick();
  }

  /**
   * The routes just originated or withdrawn came from traced changes: the UPDATEs they cause are
   * sent under these trace contexts (W3C traceparents; see export/send-trace.ts).
   */
  traceOrigination(traceparents: readonly string[]): void {
    this.exporter.traces.add(traceparents);
    this.kick();
  }

  withdrawOriginated(prefix: Prefix): void {
    if (this.rib.withdrawOriginated(prefix)) this.kick();
  }

  /**
   * The origination source is complete (static routes applied, or the datastore is in sync):
   * restored originated routes not re-originated since are stale and go.
   */
  confirmOriginated(): void {
    if (this.rib.sweepStale(this.rib.localPeer.idx) > 0) this.kick();
    this.restart.confirmOriginated();
  }

  // ---------------------------------------------------------------- admin

  reset(address: string, message?: string): void {
    this.entry(address);
    this.speaker.reset(address, message);
  }

  shutdown(address: string, message?: string): void {
    this.entry(address);
    this.speaker.shutdown(address, message);
  }

  startPeer(address: string): void {
    this.entry(address);
    this.speaker.startPeer(address);
  }

  /**
   * Puts back a route saved before a restart with an interned set the caller holds, flagged Stale
   * until its peer (or, for originated routes, the configuration) confirms it; peer '' =
   * originated. False when the peer is no longer configured.
   */
  restoreRoute(peer: string, prefix: Prefix, set: AttrSet): boolean {
    const idx = peer === '' ? this.rib.localPeer.idx : this.entries.get(peer)?.ribIdx;
    if (idx === undefined) return false;
    this.rib.restoreRoute(idx, prefix, set, true);
    return true;
  }

  /** Address of a RIB peer index ('' for originated routes), undefined for retired peers. */
  peerAddressOf(idx: number): string | undefined {
    if (idx === this.rib.localPeer.idx) return '';
    return this.byIdx.get(idx)?.settings.address;
  }

  /** Prefixes advertised to a peer (its update group's Adj-RIB-Out). */
  advertisedCount(address: string): number {
    const idx = this.entry(address).ribIdx;
    return this.exporter.groupOf(idx)?.advertisedTo(idx) ?? 0;
  }

  peerKind(address: string): Exclude<PeerKind, 'local'> {
    return kindOf(this.entry(address).settings, this.settings.asNumber);
  }

  // ---------------------------------------------------------------- internals

  private entry(address: string): PeerEntry {
    const e = this.entries.get(address);
    if (!e) throw new NotFoundError(`peer ${address} is not configured`);
    return e;
  }

  private sink(): ExportSink {
    return {
      send: (idx, msgs) => {
        const e = this.byIdx.get(idx);
        if (!e || !e.negotiated) return;
        try {
          if (!this.speaker.send(e.settings.address, msgs) && !e.blockedSince) e.blockedSince = performance.now();
        } catch (err) {
          this.log.debug({ err, peer: e.settings.address }, 'send to a peer whose session just ended');
        }
      },
      ready: (idx) => {
        const e = this.byIdx.get(idx);
        if (!e) return true;
        if (!e.blockedSince) return true;
        // A peer that reads nothing for this long stops holding back its update group.
        return performance.now() - e.blockedSince > STALL_MS;
      },
      synced: (idx) => {
        const e = this.byIdx.get(idx);
        if (!e || !e.negotiated) return;
        if (e.refreshing) {
          e.refreshing = false;
          if (e.negotiated.enhancedRouteRefresh)
            for (const f of e.negotiated.families)
              this.speaker.sendRefreshMarker(e.settings.address, f.afi, f.safi, 'end');
          return;
        }
        e.synced = true;
        for (const f of e.negotiated.families) {
          const fam = AFI_OF[f.afi];
          if (fam && this.restart.defers(fam)) e.eorDeferred.add(fam);
          else this.sendEndOfRib(e, f.afi, f.safi);
        }
      },
    };
  }

  private sendEndOfRib(e: PeerEntry, afi: number, safi: number): void {
    if (!e.negotiated) return;
    try {
      this.speaker.sendEndOfRib(e.settings.address, afi, safi);
    } catch (err) {
      this.log.debug({ err, peer: e.settings.address }, 'End-of-RIB to a peer whose session just ended');
    }
  }

  private wireSpeaker(): void {
    const sp = this.speaker;
    sp.on('established', ({ peer, negotiated }) => {
      const e = this.entries.get(peer);
      if (!e) return;
      e.resetSession(negotiated);
      this.rib.setPeerRouterId(e.ribIdx, negotiated.peerBgpId);
      this.events.established?.(peer, negotiated.peerBgpId);
      this.exporter.join(e.ribIdx, groupSpec(this.settings, e.settings, this.rib.peers[e.ribIdx]!.policy, negotiated));
      this.log.info(
        { peer, as: negotiated.peerAs, routerId: negotiated.peerBgpId, groups: this.exporter.groupCount },
        'session established',
      );
      this.kick();
    });
    sp.on('sessionDown', ({ peer, reason, retained }) => {
      const e = this.entries.get(peer);
      if (!e) return;
      const overLimit = e.overLimit;
      e.resetSession(undefined);
      this.exporter.leave(e.ribIdx);
      const keep = new Set(retained.map((f) => AFI_OF[f.afi]).filter((a): a is 4 | 6 => a !== undefined));
      let withdrawn = 0;
      let stale = 0;
      for (const afi of [4, 6] as const) {
        if (keep.has(afi)) stale += this.rib.markStale(e.ribIdx, afi);
        else withdrawn += this.rib.flushPeer(e.ribIdx, afi);
      }
      this.log.info({ peer, reason: reason.kind, withdrawn, stale }, 'session down');
      if (overLimit) this.scheduleRestartAfterLimit(e);
      this.kick();
    });
    sp.on('update', (ev) => this.onUpdate(ev));
    sp.on('endOfRib', ({ peer, afi }) => {
      const e = this.entries.get(peer);
      const fam = AFI_OF[afi];
      if (!e || !fam) return;
      e.eorReceived.add(fam);
      if (this.rib.sweepStale(e.ribIdx, fam) > 0) this.kick();
      this.events.endOfRib?.(peer, fam);
      this.restart.check();
    });
    sp.on('routeRefresh', ({ peer, afi, kind }) => {
      const e = this.entries.get(peer);
      const fam = AFI_OF[afi];
      if (!e || !fam) return;
      if (kind === 'request') {
        e.refreshing = true;
        if (e.negotiated?.enhancedRouteRefresh) this.speaker.sendRefreshMarker(peer, afi, 1, 'begin');
        this.exporter.refresh(e.ribIdx);
      } else if (kind === 'begin') this.rib.markStale(e.ribIdx, fam);
      else if (this.rib.sweepStale(e.ribIdx, fam) > 0) this.kick();
      this.kick();
    });
    sp.on('staleRoutes', ({ peer, afi, action }) => {
      const e = this.entries.get(peer);
      const fam = AFI_OF[afi];
      if (!e || !fam) return;
      const n = action === 'purge' ? this.rib.sweepStale(e.ribIdx, fam) : this.rib.enterLongLivedStale(e.ribIdx, fam);
      if (n > 0) this.kick();
    });
    sp.on('drain', (peer) => {
      const e = this.entries.get(peer);
      if (e) e.blockedSince = 0;
      this.kick();
    });
    sp.on('peerState', ({ peer, to }) => this.events.peerState?.(peer, to));
  }

  private onUpdate({ peer, update }: UpdateEvent): void {
    const e = this.entries.get(peer);
    if (!e || e.overLimit) return;
    const res = this.rib.applyUpdate(e.ribIdx, update);
    if (res.maxPrefixExceeded) {
      e.overLimit = true;
      const { limit } = res.maxPrefixExceeded;
      this.log.warn({ peer, limit }, 'maximum number of prefixes reached: closing the session');
      this.speaker.cease(peer, CeaseSubcode.MaximumNumberOfPrefixesReached, {
        message: `maximum number of prefixes reached (${limit})`,
      });
    }
    this.kick();
  }

  private scheduleRestartAfterLimit(e: PeerEntry): void {
    if (e.restartTimer) clearTimeout(e.restartTimer);
    e.restartTimer = setTimeout(() => {
      e.restartTimer = undefined;
      if (this.closed || this.entries.get(e.settings.address) !== e) return;
      this.speaker.startPeer(e.settings.address);
    }, this.settings.maxPrefixRestartTime * 1000);
    e.restartTimer.unref();
  }

  /** Schedules exporter work on the event loop. */
  private kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    if (this.closed) return;
    const t0 = performance.now();
    this.exporter.step(this.budget);
    const dt = performance.now() - t0;
    // Aim at steps of a few milliseconds: keepalives and reads never wait long behind us. Not
    // below MIN_BUDGET: a step's time with many members is mostly one write per member, whatever
    // the budget, and smaller steps only cut UPDATEs short (more messages and writes per prefix).
    if (dt > 20 && this.budget > MIN_BUDGET) this.budget >>= 1;
    else if (dt < 4 && this.budget < 16384) this.budget <<= 1;
    const runnable = this.exporter.runnable();
    // Nothing left to run now: the traced originations' UPDATEs are written (or queued).
    if (!runnable) this.exporter.traces.clear();
    if (runnable) this.kick();
    else if (!this.exporter.idle) {
      // Waiting for a full send queue to drain; a peer that never drains stops counting after
      // STALL_MS, so look again then.
      this.stallTimer ??= setTimeout(() => {
        this.stallTimer = undefined;
        this.kick();
      }, STALL_MS + 10);
      this.stallTimer.unref();
    } else {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}

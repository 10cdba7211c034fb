// Load balancing between sync servers over NATS core subjects (no coordinator).
//
// Every server publishes a heartbeat each interval on Subjects.syncHeartbeat:
//   { "id": "...", "address": "HOST:PORT", "connections": N, "ready": true, "draining": false }
// and listens to the others'. A peer is counted while its heartbeats keep coming (3 intervals).
// Each interval a ready server computes the fair share, ceil(total connections / ready servers),
// and when it holds more than the share plus a slack it sends the excess, at most `shedPerTick`
// clients per interval, a Reconnect naming the least-loaded ready peer. Clients resume there
// from their revision, so a shed costs a handshake and a few deltas, not a snapshot: that is why
// the rate can be far above Typha's one connection per second.
//
// Stale counts: a peer's heartbeat may not yet include the clients we just sent it. Each client
// directed to a peer counts as pending for that peer until the peer's reported connections have
// grown by as much, or its count stopped growing for five heartbeats (the client went
// elsewhere). Progress, not time, expires them: on a loaded machine clients take seconds to
// reconnect, and heartbeats slow down with them. Estimating a peer too low would make us shed
// too many and the peer shed them back; too high only makes us finish on a later interval.
//
// Growth: clients that came to us from a peer are counted twice (by us, and by the peer's last
// heartbeat) until the peer reports again. After a peer dies that report never comes: its 5,000
// orphans arrive here while its last heartbeat still counts them, the fair share looks exceeded,
// and we would send clients back to the dead address for three intervals. So after our own count
// grows we shed only once every peer has reported since: a dead peer never has, a live one has
// within an interval.
import type { Logger } from 'pino';
import { Subjects, type NatsConnection } from '../../../shared/nats/index.js';

/** Heartbeats of a peer without growth after which the clients sent to it are no longer expected. */
const STALLED_HEARTBEATS = 5;
/** Intervals of silence after which a peer is forgotten (it stops counting after 3). */
const FORGET_INTERVALS = 30;

export interface Heartbeat {
  id: string;
  address: string;
  connections: number;
  ready: boolean;
  draining: boolean;
}

interface Peer extends Heartbeat {
  seenAt: number;
  /** Clients we sent it that its heartbeats do not show yet. */
  pending: number;
  /** Consecutive heartbeats without growth while clients were pending. */
  stalls: number;
}

export interface BalancerHost {
  connections(): number;
  ready(): boolean;
  draining(): boolean;
  /** Sends up to `count` clients elsewhere; returns how many were sent. */
  shed(count: number): number;
}

export interface BalancerOptions {
  nc: NatsConnection;
  serverId: string;
  address: string;
  intervalMs: number;
  shedPerTick: number;
  /** Fraction of the fair share tolerated above it before shedding (at least one connection). */
  slack: number;
  log: Logger;
}

/** Parses a heartbeat; undefined (with the reason) when it is not one. */
export function parseHeartbeat(data: Uint8Array): Heartbeat | string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (!v || typeof v !== 'object') return 'not an object';
  const h = v as Record<string, unknown>;
  if (typeof h.id !== 'string' || h.id === '') return 'id: must be a non-empty string';
  if (typeof h.address !== 'string') return 'address: must be a string';
  if (typeof h.connections !== 'number' || !Number.isSafeInteger(h.connections) || h.connections < 0)
    return 'connections: must be a non-negative integer';
  if (typeof h.ready !== 'boolean') return 'ready: must be a boolean';
  return { id: h.id, address: h.address, connections: h.connections, ready: h.ready, draining: h.draining === true };
}

export class Balancer {
  private readonly peers = new Map<string, Peer>();
  private timer: NodeJS.Timeout | undefined;
  private subs: Array<{ unsubscribe(): void }> = [];
  /** Clients shed at each interval (most recent last, bounded), for tests and status. */
  readonly shedHistory: number[] = [];
  /** Our connection count at the last interval, and when it last grew. */
  private lastOwn = 0;
  private grewAt = 0;
  invalidHeartbeats = 0;

  constructor(
    private readonly options: BalancerOptions,
    private readonly host: BalancerHost,
  ) {}

  start(): void {
    const { nc, serverId, log } = this.options;
    this.subs.push(
      nc.subscribe(Subjects.syncHeartbeat, {
        callback: (err, msg) => {
          if (err) return;
          const hb = parseHeartbeat(msg.data);
          if (typeof hb === 'string') {
            this.invalidHeartbeats++;
            log.warn({ subject: Subjects.syncHeartbeat, problem: hb }, 'ignored an invalid heartbeat');
            return;
          }
          if (hb.id === serverId) return;
          const known = this.peers.get(hb.id);
          const grown = known ? Math.max(0, hb.connections - known.connections) : 0;
          let pending = known ? Math.max(0, known.pending - grown) : 0;
          const stalls = pending > 0 && grown === 0 ? (known?.stalls ?? 0) + 1 : 0;
          if (stalls >= STALLED_HEARTBEATS) pending = 0;
          this.peers.set(hb.id, { ...hb, seenAt: Date.now(), pending, stalls });
        },
      }),
      nc.subscribe(Subjects.syncDrain, {
        callback: (err, msg) => {
          if (err) return;
          const hb = parseHeartbeat(msg.data);
          if (typeof hb !== 'string' && hb.id !== serverId)
            this.peers.set(hb.id, { ...hb, ready: false, draining: true, seenAt: Date.now(), pending: 0, stalls: 0 });
        },
      }),
    );
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    this.publish();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  heartbeat(): Heartbeat {
    return {
      id: this.options.serverId,
      address: this.options.address,
      connections: this.host.connections(),
      ready: this.host.ready(),
      draining: this.host.draining(),
    };
  }

  /** Publishes our heartbeat now (also on Subjects.syncDrain when draining). */
  publish(): void {
    const data = JSON.stringify(this.heartbeat());
    try {
      this.options.nc.publish(Subjects.syncHeartbeat, data);
      if (this.host.draining()) this.options.nc.publish(Subjects.syncDrain, data);
    } catch (err) {
      this.options.log.warn({ err: String(err) }, 'could not publish a heartbeat');
    }
  }

  /** Ready peers whose heartbeats are current, with their estimated connection counts. */
  readyPeers(now = Date.now()): Array<{ id: string; address: string; connections: number }> {
    const expiry = 3 * this.options.intervalMs;
    const out: Array<{ id: string; address: string; connections: number }> = [];
    for (const [id, p] of this.peers) {
      if (now - p.seenAt > expiry) {
        // Silent for a while: not counted, but its pending clients are remembered in case it
        // was only slow (a busy machine delays heartbeats); forgotten after much longer.
        if (now - p.seenAt > FORGET_INTERVALS * this.options.intervalMs) this.peers.delete(id);
        continue;
      }
      if (!p.ready || p.draining) continue;
      out.push({ id, address: p.address, connections: p.connections + p.pending });
    }
    return out;
  }

  /** The least-loaded ready peer's address (counting the client we are about to send it). */
  suggest(): string | undefined {
    const peers = this.readyPeers();
    if (peers.length === 0) return undefined;
    let best = peers[0]!;
    for (const p of peers) if (p.connections < best.connections) best = p;
    const peer = this.peers.get(best.id)!;
    peer.pending++;
    peer.stalls = 0;
    return best.address;
  }

  /** Our fair share of the connections across the ready servers (ourselves included). */
  fairShare(): number {
    const peers = this.readyPeers();
    const total = this.host.connections() + peers.reduce((n, p) => n + p.connections, 0);
    return Math.ceil(total / (peers.length + 1));
  }

  /** Whether every counted peer has reported since our own count last grew (see Growth above). */
  private peersReportedSinceGrowth(): boolean {
    const peers = this.readyPeers();
    return peers.every((p) => this.peers.get(p.id)!.seenAt > this.grewAt);
  }

  private tick(): void {
    this.publish();
    const now = Date.now();
    const current = this.host.connections();
    if (current > this.lastOwn) this.grewAt = now;
    this.lastOwn = current;
    let shed = 0;
    if (this.host.ready() && !this.host.draining() && this.readyPeers().length > 0 && this.peersReportedSinceGrowth()) {
      const own = current;
      const share = this.fairShare();
      const slack = Math.max(1, Math.ceil(share * this.options.slack));
      if (own > share + slack) shed = this.host.shed(Math.min(own - share, this.options.shedPerTick));
    }
    this.shedHistory.push(shed);
    if (this.shedHistory.length > 1000) this.shedHistory.shift();
    if (shed > 0)
      this.options.log.info(
        { shed, connections: this.host.connections(), share: this.fairShare() },
        'shed clients to even out load',
      );
  }
}

// A load-generator process of the fan-out benchmark: holds many sync streams (each its own
// HTTP/2 connection, like real agents) with a lean client that speaks the sync protocol (hello
// with revision, pongs, resume after a failure) over node:http2 with gRPC framing done by hand
// (grpc-js's client machinery costs more per message than the server being measured; on a
// 2-core machine the load generator would be the bottleneck). It keeps no state: it counts bytes
// and records when each benchmark change arrives. It also holds plain TCP sockets for the floor
// measurement. Talks to the coordinator (main.ts) over the fork IPC channel.
import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import {
  SyncCompression,
  SyncFeature,
  SyncRequest,
  SyncResponse,
  SyncServiceService,
} from '../../proto/gen/meshless/v1/sync.js';
import {
  FLOW_CONTROL_WINDOW_BYTES,
  STANDBY_BACKOFF_INITIAL_MS,
  STANDBY_BACKOFF_MAX_MS,
  WARM_RESUMES_PER_SECOND,
  failoverIndex,
  nextBackoff,
  reconnectSpread,
} from '../../services/sync/index.js';
import { MARKER_KEY } from './dataset.js';
import { LeanSession, type LeanStream } from './lean-h2.js';
import { MOMENT_INDEX, PHASE_MOMENTS, type PhaseMoment } from './failover-phases.js';
import { now } from './proc.js';
import type { ToWorker } from './messages.js';

/** A SyncRequest with its gRPC length prefix (flag 0, length big-endian). */
function frame(r: SyncRequest): Buffer {
  const body = SyncRequest.encode(r).finish();
  const out = Buffer.allocUnsafe(5 + body.byteLength);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(body.byteLength, 1);
  out.set(body, 5);
  return out;
}
/** Field numbers of SyncResponse.message (proto/meshless/v1/sync.proto). */
const FIELD_SNAPSHOT = 2;
/** gRPC message prefix: compressed flag (1 byte) and length (4 bytes, big-endian). */
const FRAME_HEADER = 5;
const FIELD_DELTAS = 3;
const MARKER = Buffer.from(MARKER_KEY);
const CHANGE_RE = /"bench\/change":"(\d+)"/;

const send = (m: unknown) => process.send!(m);
/** Cold ClientHellos by node (agents of a node send the same bytes). */
const coldHellos = new Map<string, Buffer>();
/** --tls: the client's credentials, set by the coordinator's connect message. */
let tlsContext: SecureContext | undefined;
/**
 * As SyncAgent's warm standby (services/sync/src/client/standby.ts; on unless FANOUT_STANDBY=0):
 * every stream also holds an idle HTTP/2 session to a random other server (failoverIndex), a
 * failover goes to that server over that session (no TCP or HTTP/2 set-up on either side) after
 * the narrower warm spread, and once in sync there the standby is re-armed to another server
 * (after a random part of max(1 s, 2 x spread), then with backoff while refused: with two
 * servers, the dead one). Unlike the agent, which arms after its InSync, the benchmark arms them
 * all after the cold start (at the failover watch), so the cold-start figures are without them.
 */
const STANDBY = process.env.FANOUT_STANDBY !== '0';

/**
 * FANOUT_H2=node: the agents use node:http2's client instead of the lean one (lean-h2.ts), to
 * compare the two in the same conditions.
 */
const NODE_H2 = process.env.FANOUT_H2 === 'node';

type Session = ClientHttp2Session | LeanSession;
type Stream = ClientHttp2Stream | LeanStream;

/** One HTTP/2 session to a sync server, as SyncAgent's channel opens it. */
function openSession(endpoint: string): Session {
  const [host, port] = [
    endpoint.slice(0, endpoint.lastIndexOf(':')),
    Number(endpoint.slice(endpoint.lastIndexOf(':') + 1)),
  ];
  // TCP_NODELAY as grpc-js sets it: otherwise small frames (pongs, WINDOW_UPDATEs) wait for Nagle.
  // With --tls every stream is its own mutual-TLS connection (one shared context, as an agent
  // has one certificate), like an agent talking to a server that is not --insecure.
  const socket = () =>
    tlsContext
      ? tlsConnect({ host, port, secureContext: tlsContext, ALPNProtocols: ['h2'] }).setNoDelay(true)
      : connect({ host, port, noDelay: true });
  // The HTTP/2 window SyncAgent grants (stream and connection), so snapshots flow as to an agent.
  if (!NODE_H2)
    return new LeanSession(socket(), {
      authority: endpoint,
      tls: !!tlsContext,
      windowBytes: FLOW_CONTROL_WINDOW_BYTES,
    });
  const settings = { initialWindowSize: FLOW_CONTROL_WINDOW_BYTES };
  const session = http2Connect(`${tlsContext ? 'https' : 'http'}://${endpoint}`, {
    settings,
    createConnection: socket,
  });
  session.once('remoteSettings', () => {
    if (!session.destroyed) session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
  });
  return session;
}

/** Opens the Sync call on SESSION and sends its first message (lean: in the session's first write). */
function openCall(session: Session, first: Buffer): Stream {
  if (session instanceof LeanSession) return session.request(SyncServiceService.sync.path, first);
  const stream = session.request({
    ':method': 'POST',
    ':path': SyncServiceService.sync.path,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.write(first);
  return stream;
}

class BenchStream {
  revision = 0;
  datastoreId = '';
  private _inSync = false;
  endpoint = '';
  snapshotBytes = 0;
  bytesReceived = 0;
  /** Snapshot bytes since the failover watch started. */
  failoverSnapshotBytes = 0;
  private session: Session | undefined;
  private stream: Stream | undefined;
  private attempt = 0;
  private closed = false;
  /** The gRPC frame header being read (it may be split across DATA frames). */
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER);
  private headerHave = 0;
  /** Bytes of the current message still to come; -1 while reading a header. */
  private bodyLeft = -1;
  private bodyLength = 0;
  /** Whether the current message is a snapshot chunk (decided by its first byte). */
  private inSnapshot: boolean | undefined;
  /** Pieces of the current non-snapshot message. */
  private parts: Buffer[] = [];
  /** CRC-32 of the snapshot chunks received on the current session. */
  private snapshotCrc = 0;
  /** The snapshot digest at the last InSync. */
  snapshotDigest = 0;
  /** The last benchmark change received (the snapshot's marker is change 0). */
  private lastChange = 0;
  /** While the failover is watched: when each of its moments happened (failover-phases.ts). */
  moments: Float64Array | undefined;
  private standby: { endpoint: string; session: Session; ready: boolean } | undefined;
  /** Re-arming the standby after a failover (as SyncAgent: delay, then backoff while refused). */
  private standbyTimer: NodeJS.Timeout | undefined;
  private standbyAttempt = 0;
  /** Standbys are armed (from the failover watch on): re-arm one whenever in sync without. */
  private standbyArmed = false;
  /** The server of the last in-sync stream lost, until the next InSync. */
  private lostInSync: string | undefined;
  /** Whether the current stream opened on the standby session. */
  warm = false;

  constructor(
    readonly index: number,
    readonly node: string,
    private readonly endpoints: string[],
    private readonly compression: SyncCompression[],
    private readonly onInSync: (s: BenchStream) => void,
    private readonly onChange: (s: BenchStream, change: number, at: number) => void,
    private readonly spreadMs: number,
    private readonly warmSpreadMs: number,
  ) {}

  get inSync(): boolean {
    return this._inSync;
  }

  /** Counts streams in sync as they change (checking all of them on every InSync is O(n²)). */
  private setInSync(v: boolean): void {
    if (v === this._inSync) return;
    this._inSync = v;
    inSyncCount += v ? 1 : -1;
    if (v) this.onInSync(this);
    if (v && this.standbyArmed && !this.standby && !this.standbyTimer) {
      // As SyncAgent: a random other server, not the one just lost unless it is the only one,
      // and then after a backoff.
      const lost = this.lostInSync;
      this.lostInSync = undefined;
      const others = this.endpoints.filter((e) => e !== this.endpoint && e !== lost);
      if (others.length > 0)
        this.rearmStandby(
          Math.random() * Math.max(1000, 2 * this.spreadMs),
          others[Math.floor(Math.random() * others.length)],
        );
      else if (lost !== undefined && lost !== this.endpoint)
        this.rearmStandby(nextBackoff(this.standbyAttempt++, STANDBY_BACKOFF_INITIAL_MS, STANDBY_BACKOFF_MAX_MS), lost);
    }
  }

  start(): void {
    this.connect(this.endpoints[this.index % this.endpoints.length]!);
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.standbyTimer);
    this.standby?.session.destroy();
    this.stream?.close();
    this.session?.destroy();
  }

  private moment(m: PhaseMoment, at = now()): void {
    if (!this.moments) return;
    // A stream that goes round again keeps its first loss and reconnect (the failover's start).
    const i = MOMENT_INDEX[m];
    if (m === 'lost' || m === 'reconnect') {
      if (Number.isNaN(this.moments[i]!)) this.moments[i] = at;
    } else this.moments[i] = at;
  }

  /** The standby: an idle session to a random other server; resolves when it is up (or failed). */
  openStandby(to?: string): Promise<void> {
    this.standbyArmed = true;
    const endpoint = to ?? this.endpoints[failoverIndex(this.endpoints.length, this.endpoints.indexOf(this.endpoint))]!;
    const session = openSession(endpoint);
    const standby = { endpoint, session, ready: false };
    this.standby = standby;
    const drop = () => {
      if (this.standby !== standby) return;
      this.standby = undefined;
      session.destroy();
      // Lost or refused: again after a backoff, as SyncAgent's standby does.
      if (!this.closed)
        this.rearmStandby(nextBackoff(this.standbyAttempt++, STANDBY_BACKOFF_INITIAL_MS, STANDBY_BACKOFF_MAX_MS));
    };
    session.on('error', drop);
    session.on('close', drop);
    return new Promise((resolve) => {
      session.once('remoteSettings', () => {
        standby.ready = true;
        this.standbyAttempt = 0;
        resolve();
      });
      session.once('close', () => resolve());
    });
  }

  private rearmStandby(delayMs: number, to?: string): void {
    clearTimeout(this.standbyTimer);
    this.standbyTimer = setTimeout(() => {
      this.standbyTimer = undefined;
      if (!this.closed && !this.standby) void this.openStandby(to);
    }, delayMs);
  }

  private nextEndpoint(after: string): string {
    return this.endpoints[(this.endpoints.indexOf(after) + 1) % this.endpoints.length]!;
  }

  private connect(endpoint: string): void {
    this.endpoint = endpoint;
    this.setInSync(false);
    this.headerHave = 0;
    this.bodyLeft = -1;
    this.parts = [];
    this.snapshotCrc = 0;
    this.moment('reconnect');
    const standby = this.standby;
    let session: Session;
    this.warm = false;
    if (standby?.ready && standby.endpoint === endpoint && !standby.session.destroyed) {
      this.standby = undefined;
      standby.session.removeAllListeners('close').removeAllListeners('error');
      session = standby.session;
      this.warm = true;
      this.moment('settings');
    } else {
      session = openSession(endpoint);
      session.once('remoteSettings', () => this.moment('settings'));
    }
    this.session = session;
    let ended = false;
    const end = (next: string | undefined) => {
      if (ended || this.closed) return;
      ended = true;
      this.moment('lost');
      session.destroy();
      if (next) this.connect(next);
      else {
        // As SyncAgent: a lost in-sync session reconnects after a random spread as wide as the
        // number of agents needs (SyncAgent counts its view's Nodes; here every stream is an agent),
        // otherwise exponential backoff with jitter.
        const wasInSync = this.inSync;
        if (wasInSync) this.lostInSync = endpoint;
        const warm = wasInSync && this.standby?.ready === true;
        const delay = wasInSync
          ? Math.random() * (warm ? this.warmSpreadMs : this.spreadMs)
          : Math.min(2000, 50 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
        // As SyncAgent again: a random one of the other servers after losing an in-sync one (or
        // the one its standby session is open to).
        const to = wasInSync
          ? warm
            ? this.standby!.endpoint
            : this.endpoints[failoverIndex(this.endpoints.length, this.endpoints.indexOf(endpoint))]!
          : this.nextEndpoint(endpoint);
        // Out of sync from the moment its session is lost, not from when it reconnects.
        this.setInSync(false);
        setTimeout(() => this.connect(to), delay);
      }
    };
    session.on('error', () => end(undefined));
    session.on('close', () => end(undefined));
    const stream = openCall(session, this.hello());
    this.stream = stream;
    stream.on('error', () => end(undefined));
    stream.on('close', () => end(undefined));
    stream.on('data', (chunk: Buffer) => {
      const to = this.onData(chunk, now());
      if (to !== undefined) end(to || this.nextEndpoint(endpoint));
    });
  }

  /** The ClientHello: a cold one (no revision) is the same bytes for every agent of a node. */
  private hello(): Buffer {
    const cold = this.revision === 0 && this.datastoreId === '';
    const cached = cold ? coldHellos.get(this.node) : undefined;
    if (cached) return cached;
    const out = frame({
      message: {
        $case: 'clientHello',
        value: {
          node: this.node,
          syncerType: 'agent',
          clientVersion: 'bench',
          revision: this.revision > 0 ? this.revision : undefined,
          datastoreId: this.datastoreId,
          compression: this.compression,
          features: [SyncFeature.SYNC_FEATURE_RECONNECT],
          nodeScopedKeys: [],
        },
      },
    });
    if (cold) coldHellos.set(this.node, out);
    return out;
  }

  /**
   * Reads gRPC frames as they arrive, without joining a snapshot chunk's DATA frames: a snapshot
   * message is only counted and digested piece by piece (CRC-32 of its bytes, so every agent's
   * content is still checked against its node's other agents); other messages (hello, InSync,
   * pings, changes: small) are joined and handled. Joining each ~77 KB snapshot chunk cost a copy
   * and its garbage per agent, the largest part of the load generator's cold-start CPU after
   * HTTP/2 set-up. Returns where to reconnect when the server said so.
   */
  private onData(chunk: Buffer, at: number): string | undefined {
    let off = 0;
    while (off < chunk.length) {
      if (this.bodyLeft < 0) {
        const take = Math.min(FRAME_HEADER - this.headerHave, chunk.length - off);
        chunk.copy(this.header, this.headerHave, off, off + take);
        this.headerHave += take;
        off += take;
        if (this.headerHave < FRAME_HEADER) return undefined;
        this.headerHave = 0;
        this.bodyLength = this.header.readUInt32BE(1);
        this.bodyLeft = this.bodyLength;
        this.inSnapshot = undefined;
        if (this.bodyLength > 0) continue;
      }
      const take = Math.min(this.bodyLeft, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      this.bodyLeft -= take;
      if (take > 0) {
        this.inSnapshot ??= piece[0]! >> 3 === FIELD_SNAPSHOT;
        if (this.inSnapshot) this.snapshotCrc = crc32(piece, this.snapshotCrc);
        else this.parts.push(piece);
      }
      if (this.bodyLeft > 0) return undefined;
      this.bodyLeft = -1;
      this.bytesReceived += this.bodyLength + FRAME_HEADER;
      if (this.inSnapshot) {
        this.snapshotBytes += this.bodyLength + FRAME_HEADER;
        this.failoverSnapshotBytes += this.bodyLength + FRAME_HEADER;
        continue;
      }
      const message = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyLength);
      this.parts = [];
      const to = this.receive(message, at);
      if (to !== undefined) return to;
    }
    return undefined;
  }

  /** Handles one message; returns where to reconnect when the server said so. */
  private receive(buf: Buffer, at: number): string | undefined {
    if (buf.length > 0 && buf[0]! >> 3 === FIELD_DELTAS) {
      // The benchmark's changes: find the marker's change number without decoding the message
      // (the revision is left to InSync and pings: resuming from an older one is still correct).
      // Deltas before InSync are a resume: a change made while the stream moved servers arrives
      // there, so it counts too (once: a resume may repeat one already seen).
      if (buf.indexOf(MARKER) < 0) return undefined;
      const match = CHANGE_RE.exec(buf.toString('latin1'));
      const change = match ? Number(match[1]) : 0;
      if (change > this.lastChange) {
        this.lastChange = change;
        this.onChange(this, change, at);
      }
      return undefined;
    }
    const m = SyncResponse.decode(buf).message;
    if (!m) return undefined;
    switch (m.$case) {
      case 'serverHello':
        this.moment('hello', at);
        this.datastoreId = m.value.datastoreId;
        return undefined;
      case 'inSync':
        this.moment('inSync', at);
        // The digest of the snapshot this InSync completes (0: none, a resume).
        this.snapshotDigest = this.snapshotCrc;
        this.revision = Math.max(this.revision, m.value.revision);
        this.attempt = 0;
        this.setInSync(true);
        return undefined;
      case 'ping':
        this.stream?.write(frame({ message: { $case: 'pong', value: { id: m.value.id } } }));
        pingSeen(this.endpoint, m.value.id, at);
        if (this.inSync) this.revision = Math.max(this.revision, m.value.revision);
        return undefined;
      case 'reconnect':
        return m.value.suggestedAddress;
      default:
        return undefined;
    }
  }
}

/** Fixed-size frames from the floor server: [change u32][pad u32][t0 f64][padding]. */
class FloorSocket {
  private pending: Buffer = Buffer.alloc(0);
  constructor(
    readonly socket: Socket,
    private readonly frameBytes: number,
    private readonly onChange: (change: number, t0: number, at: number) => void,
  ) {
    socket.on('data', (d: Buffer) => {
      const at = now();
      this.pending = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
      while (this.pending.length >= this.frameBytes) {
        this.onChange(this.pending.readUInt32BE(0), this.pending.readDoubleBE(8), at);
        this.pending = this.pending.subarray(this.frameBytes);
      }
    });
  }
}

const streams: BenchStream[] = [];
let inSyncCount = 0;
const received = new Map<number, number[]>();
const floorReceived = new Map<number, number[]>();
/** The killed server's streams (in sync elsewhere once every one has had an InSync since). */
let failoverWatch: { count: number; pending: Set<BenchStream>; streams: BenchStream[] } | undefined;
let floorSockets: FloorSocket[] = [];

/** Pings already reported to the coordinator (tail.ts: the first receipt of each is enough). */
const pingsReported = new Set<string>();
function pingSeen(endpoint: string, id: number, at: number): void {
  const key = `${endpoint}/${id}`;
  if (pingsReported.has(key)) return;
  pingsReported.add(key);
  send({ type: 'ping-seen', endpoint, id, at });
}

function reportInSyncWhenAll(): void {
  if (streams.length > 0 && inSyncCount === streams.length) {
    send({
      type: 'insync',
      snapshotBytes: streams.map((s) => s.snapshotBytes),
      digests: streams.map((s) => s.snapshotDigest),
      nodes: streams.map((s) => s.node),
      bytes: streams.map((s) => s.bytesReceived),
      endpoints: streams.map((s) => s.endpoint),
    });
  }
}

function checkFailover(s: BenchStream): void {
  if (!failoverWatch) return;
  failoverWatch.pending.delete(s);
  if (failoverWatch.pending.size === 0) {
    send({
      type: 'resynced',
      count: failoverWatch.count,
      snapshotBytes: failoverWatch.streams.reduce((n, x) => n + x.failoverSnapshotBytes, 0),
      warm: failoverWatch.streams.reduce((n, x) => n + (x.warm ? 1 : 0), 0),
      at: now(),
      moments: failoverWatch.streams.map((x) => Array.from(x.moments ?? [])),
    });
    failoverWatch = undefined;
  }
}

process.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'connect': {
      if (msg.tls) tlsContext = createSecureContext(msg.tls);
      let insyncReported = false;
      const onInSync = (s: BenchStream) => {
        checkFailover(s);
        if (!insyncReported && inSyncCount === streams.length) {
          insyncReported = true;
          reportInSyncWhenAll();
        }
      };
      const onChange = (_s: BenchStream, change: number, at: number) => {
        let list = received.get(change);
        if (!list) received.set(change, (list = []));
        list.push(at);
        if (list.length === streams.length) {
          send({ type: 'received', change, times: list });
          received.delete(change);
        }
      };
      const spreadMs = Number(
        process.env.FANOUT_RECONNECT_SPREAD_MS ?? reconnectSpread(msg.totalAgents, msg.endpoints.length),
      );
      const warmSpreadMs = Number(
        process.env.FANOUT_RECONNECT_SPREAD_MS ??
          reconnectSpread(msg.totalAgents, msg.endpoints.length, WARM_RESUMES_PER_SECOND),
      );
      for (const a of msg.agents)
        streams.push(
          new BenchStream(a.index, a.node, msg.endpoints, msg.compression, onInSync, onChange, spreadMs, warmSpreadMs),
        );
      // How many are in sync so far, every second until all are (the coordinator's progress).
      const progress = setInterval(() => {
        if (insyncReported) clearInterval(progress);
        else send({ type: 'progress', inSync: inSyncCount });
      }, 1000);
      // Open the streams in slices so the worker's own event loop keeps answering.
      let i = 0;
      const open = () => {
        for (const end = Math.min(streams.length, i + 200); i < end; i++) streams[i]!.start();
        if (i < streams.length) setTimeout(open, 5);
      };
      open();
      return;
    }
    case 'failover-watch': {
      const watched = streams.filter((s) => s.endpoint === msg.endpoint);
      for (const s of watched) {
        s.failoverSnapshotBytes = 0;
        s.moments = new Float64Array(PHASE_MOMENTS.length).fill(Number.NaN);
      }
      const watch = () => {
        if (watched.length === 0)
          send({ type: 'resynced', count: 0, snapshotBytes: 0, warm: 0, at: now(), moments: [] });
        else {
          failoverWatch = { count: watched.length, pending: new Set(watched), streams: watched };
          send({ type: 'watching', count: watched.length });
        }
      };
      if (!STANDBY) return watch();
      // Standby sessions in slices, like the streams, so the servers' accept queues keep up.
      const ready: Promise<void>[] = [];
      let i = 0;
      const open = () => {
        for (const end = Math.min(streams.length, i + 200); i < end; i++) ready.push(streams[i]!.openStandby());
        if (i < streams.length) setTimeout(open, 5);
        else void Promise.all(ready).then(watch);
      };
      open();
      return;
    }
    case 'floor-connect': {
      let connected = 0;
      for (const f of floorSockets) f.socket.destroy();
      floorSockets = [];
      const frames = (change: number, t0: number, at: number) => {
        let list = floorReceived.get(change);
        if (!list) floorReceived.set(change, (list = []));
        list.push(at - t0);
        if (list.length === msg.count) {
          send({ type: 'floor-received', change, latencies: list });
          floorReceived.delete(change);
        }
      };
      // In slices, like the streams, so the floor server's accept queue never overflows.
      let opened = 0;
      const open = () => {
        for (const end = Math.min(msg.count, opened + 200); opened < end; opened++) {
          const socket = connect({ host: '127.0.0.1', port: msg.ports[opened % msg.ports.length]! }, () => {
            if (++connected === msg.count) send({ type: 'floor-connected' });
          });
          socket.setNoDelay(true);
          floorSockets.push(new FloorSocket(socket, msg.frameBytes, frames));
        }
        if (opened < msg.count) setTimeout(open, 5);
      };
      open();
      return;
    }
    case 'stop':
      for (const s of streams) s.stop();
      for (const f of floorSockets) f.socket.destroy();
      setTimeout(() => process.exit(0), 100);
      return;
  }
});
// The coordinator ends the run with SIGTERM: exit normally so a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
send({ type: 'hello' });

// One client's stream on the server: its lifecycle (phase, handshake and resume-wait timers,
// accepted, pings and pongs) and an ordered queue of ready-framed messages (shared Buffers, never
// copied here) written to the stream as fast as it accepts them. The server decides when a
// stream moves on (accept, goLive, end, fail); the stream alone changes its own state, and its
// timers stop when it closes, whatever closed it.
//
// Two ways to the wire. Direct (the default): the frame (or several joined: a resume's shared
// frames are one Buffer), already carrying its gRPC length prefix, is written to the call's
// HTTP/2 stream, so every stream of a fan-out gets the same Buffer with no per-stream
// serialization or copy. This reaches into grpc-js 1.14 (the server
// call's `call.stream` and `maybeSendMetadata()`, present when the server has no interceptors,
// as ours has none); `directWriter` checks for them and falls back to the public path when they
// are missing. Public: `call.write(message)` through the identity serializer; grpc-js then
// copies each message into a new framed buffer per stream. Status and trailers go through
// grpc-js either way, after the data, on the same HTTP/2 stream.
//
// Backpressure: a write that returns false (the HTTP/2 stream's buffer is above its high-water
// mark; on the public path grpc-js holds 16 unwritten messages) parks the stream: its messages
// wait in its own queue until 'drain'. A stream whose queue grows past the configured lag
// (bytes, or revisions between its oldest queued message and its newest) is closed with
// RESOURCE_EXHAUSTED and a "resume from R" message, so one slow client costs bounded memory and
// never slows the others. A new client is exempt until its snapshot is written or its grace
// period ends: a big snapshot to a slow link is expected to queue.
//
// Invariant: messages reach the stream in the order they were sent; `writtenRevision` is the
// last commit revision written, `sentRevision` the last one accepted from the fan-out.
import type { Writable } from 'node:stream';
import { status, type Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import { FRAME_HEADER_BYTES } from '../protocol/index.js';
import type { ValidHello } from '../protocol/index.js';
import { RevisionWait } from './revision-wait.js';

export type StreamPhase = 'handshake' | 'syncing' | 'live' | 'closed';

export interface StreamLimits {
  maxLagBytes: number;
  maxLagRevisions: number;
  newClientGraceMs: number;
}

interface Queued {
  buf: Buffer;
  revision: number;
  commit: boolean;
  endsGrace: boolean;
}

/** The HTTP/2 stream under a grpc-js server call, when grpc-js exposes it (see above). */
interface DirectWriter {
  stream: Writable;
  /** Sends the response headers if grpc-js has not yet. */
  begin(): void;
}

export function directWriter(call: ServerDuplexStream<Buffer, Buffer>): DirectWriter | undefined {
  const base = (call as unknown as { call?: { stream?: unknown; maybeSendMetadata?: unknown } }).call;
  const stream = base?.stream as (Partial<Writable> & { respond?: unknown }) | undefined;
  if (
    !base ||
    typeof base.maybeSendMetadata !== 'function' ||
    typeof stream?.write !== 'function' ||
    typeof stream.respond !== 'function' ||
    typeof stream.on !== 'function'
  ) {
    return undefined;
  }
  const maybeSendMetadata = base.maybeSendMetadata as () => void;
  return { stream: stream as Writable, begin: () => maybeSendMetadata.call(base) };
}

export type CloseReason =
  | 'client'
  | 'lag'
  | 'invalid'
  | 'handshake-timeout'
  | 'pong-timeout'
  | 'reconnect'
  | 'unavailable'
  | 'full'
  | 'shutdown'
  | 'permission-denied'
  | 'replaced';

export class ClientStream {
  private _phase: StreamPhase = 'handshake';
  private _hello: ValidHello | undefined;
  readonly connectedAt = Date.now();
  private _lastPongAt = Date.now();
  /** When the current ping was sent to this stream (0: none outstanding). */
  private pingSentAt = 0;
  /** The id of the last Ping written to this stream. */
  private pingId = 0;
  writtenRevision = 0;
  sentRevision = 0;
  /** Bytes handed to grpc-js, all messages. */
  bytesWritten = 0;
  closeReason: CloseReason | undefined;
  /** Counted as a connection (past a valid hello). */
  private _accepted = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Set while an accepted client waits for the cache to reach the revision it resumes from. */
  private readonly revisionWait = new RevisionWait();
  private queue: Queued[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private blocked = false;
  private graceOver = false;

  private readonly direct: DirectWriter | undefined;

  constructor(
    readonly id: number,
    private readonly call: ServerDuplexStream<Buffer, Buffer>,
    private readonly limits: StreamLimits,
    private readonly onClosed: (stream: ClientStream) => void,
    directWrites: boolean,
  ) {
    this.direct = directWrites ? directWriter(call) : undefined;
    const drained = () => {
      this.blocked = false;
      this.flush();
    };
    if (this.direct) {
      this.direct.stream.on('drain', drained);
      // Write errors after the client went away are reported by grpc-js's own close handling.
      this.direct.stream.on('error', () => undefined);
    } else call.on('drain', drained);
  }

  get phase(): StreamPhase {
    return this._phase;
  }

  /** The validated hello (set once it arrived and passed validation). */
  get hello(): ValidHello | undefined {
    return this._hello;
  }

  get accepted(): boolean {
    return this._accepted;
  }

  get lastPongAt(): number {
    return this._lastPongAt;
  }

  // ---------------------------------------------------------------- lifecycle

  /** handshake: `onTimeout` runs when no hello arrived within `ms` (the stream still in handshake). */
  awaitHello(ms: number, onTimeout: () => void): void {
    this.handshakeTimer = setTimeout(() => {
      if (this._phase === 'handshake') onTimeout();
    }, ms);
    this.handshakeTimer.unref();
  }

  /** A hello arrived: the handshake timer stops (whether or not the hello is valid). */
  helloArrived(): void {
    clearTimeout(this.handshakeTimer);
  }

  /** The hello passed validation. */
  greeted(hello: ValidHello): void {
    this._hello = hello;
  }

  /** handshake → syncing: counted as a connection from now on. */
  accept(): void {
    this._accepted = true;
    this._phase = 'syncing';
  }

  /** syncing: `onTimeout` runs unless `stopWaiting` is called within `ms`. */
  waitForRevision(ms: number, onTimeout: () => void): void {
    this.revisionWait.start(ms, onTimeout);
  }

  stopWaiting(): void {
    this.revisionWait.stop();
  }

  /** syncing → live (InSync queued): pings are counted from now. */
  goLive(): void {
    this._phase = 'live';
    this._lastPongAt = Date.now();
  }

  /** Queues a ping round's shared frame and remembers when it went out. */
  ping(frame: Buffer, id: number, revision: number): void {
    this.pingId = id;
    this.pingSentAt = Date.now();
    this.send(frame, revision, true);
  }

  /** A pong arrived; returns the round trip in seconds when it answers the outstanding ping. */
  pong(id: number): number | undefined {
    this._lastPongAt = Date.now();
    if (id !== this.pingId || this.pingSentAt <= 0) return undefined;
    const seconds = (this._lastPongAt - this.pingSentAt) / 1000;
    this.pingSentAt = 0;
    return seconds;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  /** How far behind the stream is: revisions and bytes waiting in our queue. */
  lag(head: number): { revisions: number; bytes: number } {
    const oldest = this.queue[this.queueHead];
    return { revisions: oldest ? head - oldest.revision : 0, bytes: this.queuedBytes };
  }

  /**
   * Queues one message. `revision` is the revision the message belongs to, `commit` whether the
   * client commits it, `endsGrace` whether lag limits apply once it is written (the InSync that
   * ends a snapshot). Returns false when the stream is closed (or was just closed for lag).
   */
  send(buf: Buffer, revision: number, commit: boolean, endsGrace = false): boolean {
    if (this._phase === 'closed') return false;
    if (commit && revision > this.sentRevision) this.sentRevision = revision;
    if (!this.blocked && this.queued === 0) {
      this.write(buf, revision, commit, endsGrace);
      return true;
    }
    this.queue.push({ buf, revision, commit, endsGrace });
    this.queuedBytes += buf.byteLength;
    if (this.blocked && this.overLimit(revision)) return false;
    return true;
  }

  /** Ends the stream with OK once everything queued is written (after a Reconnect). */
  end(reason: CloseReason): void {
    if (this._phase === 'closed') return;
    this.markClosed(reason);
    this.flushAll();
    this.call.end();
  }

  /** Ends the stream with an error status; what is still queued here is dropped. */
  fail(code: status, details: string, reason: CloseReason, metadata?: Metadata): void {
    if (this._phase === 'closed') return;
    this.markClosed(reason);
    this.dropQueue();
    this.call.emit('error', { code, details, metadata });
  }

  /** The client went away (cancelled or errored). */
  gone(): void {
    if (this._phase === 'closed') return;
    this.markClosed('client');
    this.dropQueue();
  }

  private markClosed(reason: CloseReason): void {
    clearTimeout(this.handshakeTimer);
    this.stopWaiting();
    this._phase = 'closed';
    this.closeReason = reason;
    this.onClosed(this);
  }

  private overLimit(newest: number): boolean {
    if (!this.graceOver) {
      if (Date.now() - this.connectedAt < this.limits.newClientGraceMs) return false;
      this.graceOver = true;
    }
    const oldest = this.queue[this.queueHead];
    const revisions = oldest ? newest - oldest.revision : 0;
    if (this.queuedBytes <= this.limits.maxLagBytes && revisions <= this.limits.maxLagRevisions) return false;
    this.fail(
      status.RESOURCE_EXHAUSTED,
      `fell behind by ${revisions} revisions and ${this.queuedBytes} bytes (limits ${this.limits.maxLagRevisions} revisions, ${this.limits.maxLagBytes} bytes); resume from ${this.writtenRevision}`,
      'lag',
    );
    return true;
  }

  private write(frame: Buffer, revision: number, commit: boolean, endsGrace: boolean): void {
    if (commit && revision > this.writtenRevision) this.writtenRevision = revision;
    if (endsGrace) this.graceOver = true;
    this.bytesWritten += frame.byteLength;
    if (!this.writeFrame(frame)) this.blocked = true;
  }

  private writeFrame(frame: Buffer): boolean {
    if (!this.direct) {
      // grpc-js frames each message itself, and a Buffer may hold several (a resume's joined frames).
      let ok = true;
      for (let at = 0; at < frame.byteLength; ) {
        const end = at + FRAME_HEADER_BYTES + frame.readUInt32BE(at + 1);
        ok = this.call.write(frame.subarray(at + FRAME_HEADER_BYTES, end));
        at = end;
      }
      return ok;
    }
    const { stream } = this.direct;
    if (stream.destroyed || stream.writableEnded) return true;
    this.direct.begin();
    return stream.write(frame);
  }

  private flush(): void {
    while (!this.blocked && this.queueHead < this.queue.length) {
      const q = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as Queued;
      this.queuedBytes -= q.buf.byteLength;
      this.write(q.buf, q.revision, q.commit, q.endsGrace);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Hands every queued message to grpc-js regardless of backpressure (the stream is ending). */
  private flushAll(): void {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      if (q.commit && q.revision > this.writtenRevision) this.writtenRevision = q.revision;
      this.writeFrame(q.buf);
    }
    this.dropQueue();
  }

  private dropQueue(): void {
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
  }
}

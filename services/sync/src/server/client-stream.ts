// One client's stream on the server: an ordered queue of ready-encoded messages (shared Buffers,
// never copied here) written to grpc-js as fast as the stream accepts them.
//
// Backpressure: `call.write` returns false once grpc-js holds 16 unwritten messages for the
// stream (its objectMode high-water mark); we then keep messages in our own queue until 'drain'.
// A stream whose queue grows past the configured lag (bytes, or revisions between its oldest
// queued message and its newest) is closed with RESOURCE_EXHAUSTED and a "resume from R"
// message, so one slow client costs bounded memory and never slows the others. A new client is
// exempt until its snapshot is written or its grace period ends: a big snapshot to a slow link
// is expected to queue.
//
// Invariant: messages reach grpc-js in the order they were sent; `writtenRevision` is the last
// commit revision handed to grpc-js, `sentRevision` the last one accepted from the fan-out.
import { status, type Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import type { ValidHello } from '../protocol/index.js';

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

export type CloseReason = 'client' | 'lag' | 'invalid' | 'handshake-timeout' | 'pong-timeout' | 'reconnect' | 'unavailable' | 'full' | 'shutdown';

export class ClientStream {
  phase: StreamPhase = 'handshake';
  hello: ValidHello | undefined;
  readonly connectedAt = Date.now();
  lastPongAt = Date.now();
  /** When the current ping was sent to this stream (0: none outstanding). */
  pingSentAt = 0;
  writtenRevision = 0;
  sentRevision = 0;
  /** Bytes handed to grpc-js, all messages. */
  bytesWritten = 0;
  closeReason: CloseReason | undefined;
  /** Counted as a connection (past a valid hello). */
  accepted = false;
  handshakeTimer: NodeJS.Timeout | undefined;
  /** The id of the last Ping written to this stream. */
  pingId = 0;
  private queue: Queued[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private blocked = false;
  private graceOver = false;

  constructor(
    readonly id: number,
    private readonly call: ServerDuplexStream<Buffer, Buffer>,
    private readonly limits: StreamLimits,
    private readonly onClosed: (stream: ClientStream) => void,
  ) {
    call.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
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
    if (this.phase === 'closed') return false;
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
    if (this.phase === 'closed') return;
    this.markClosed(reason);
    this.flushAll();
    this.call.end();
  }

  /** Ends the stream with an error status; what is still queued here is dropped. */
  fail(code: status, details: string, reason: CloseReason, metadata?: Metadata): void {
    if (this.phase === 'closed') return;
    this.markClosed(reason);
    this.dropQueue();
    this.call.emit('error', { code, details, metadata });
  }

  /** The client went away (cancelled or errored). */
  gone(): void {
    if (this.phase === 'closed') return;
    this.markClosed('client');
    this.dropQueue();
  }

  private markClosed(reason: CloseReason): void {
    clearTimeout(this.handshakeTimer);
    this.phase = 'closed';
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

  private write(buf: Buffer, revision: number, commit: boolean, endsGrace: boolean): void {
    if (commit && revision > this.writtenRevision) this.writtenRevision = revision;
    if (endsGrace) this.graceOver = true;
    this.bytesWritten += buf.byteLength;
    if (!this.call.write(buf)) this.blocked = true;
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
      this.call.write(q.buf);
    }
    this.dropQueue();
  }

  private dropQueue(): void {
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
  }
}

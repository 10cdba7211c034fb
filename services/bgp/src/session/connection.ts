// One TCP connection of a peer: frames the byte stream, hands frames to the peer in slices that
// yield to the event loop, and writes messages with backpressure.
//
// Why slices: a peer sending a full table can deliver megabytes at once; decoding them in one
// go would hold the event loop for long enough to miss our own KEEPALIVE deadline. Each slice
// processes frames for at most SLICE_MS, then the socket is paused and the next slice is
// scheduled with setImmediate, which runs after the timers phase: keepalive and hold timers fire
// between slices. While paused, the kernel's receive window fills and TCP slows the sender down.
// Rejected alternative: a worker thread for decoding, which would copy every frame across threads
// and still need the same flow control.
import type { Socket } from 'node:net';
import { FrameReader, type BgpMessageError, type Frame } from '../codec/index.js';
import type { ConnectionId, Direction } from '../fsm/index.js';

/** Longest stretch of frame processing before yielding to the event loop. */
const SLICE_MS = 8;
/** Frames between clock reads inside a slice. */
const FRAMES_PER_CLOCK_CHECK = 32;
/** How long a closing connection may take to flush before it is destroyed. */
const CLOSE_FLUSH_MS = 2000;

export interface ConnectionHandlers {
  /** One complete message; return false to stop processing (the connection is being closed). */
  frame(conn: Connection, frame: Frame): boolean;
  /** The byte stream is corrupt (bad header): the NOTIFICATION to send is in the error. */
  framingError(conn: Connection, err: BgpMessageError): void;
  /** The socket closed or failed without us closing it. */
  closed(conn: Connection, reason: string): void;
  /** Queued bytes fell below the low-water mark. */
  drained(conn: Connection): void;
}

export class Connection {
  readonly id: ConnectionId;
  readonly direction: Direction;
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  private readonly reader = new FrameReader();
  private readonly handlers: ConnectionHandlers;
  private readonly highWater: number;
  /** Resolves when the socket is gone, whoever closed it. */
  readonly closed: Promise<void>;
  private scheduled = false;
  private closing = false;
  private wantDrain = false;

  constructor(id: ConnectionId, direction: Direction, socket: Socket, handlers: ConnectionHandlers, highWater: number) {
    this.id = id;
    this.direction = direction;
    this.socket = socket;
    this.handlers = handlers;
    this.highWater = highWater;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.wantDrain && !this.closing) {
        this.wantDrain = false;
        this.handlers.drained(this);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', (hadError) => {
      if (this.closing) return;
      this.closing = true;
      this.handlers.closed(this, hadError ? 'connection reset' : 'connection closed by peer');
    });
  }

  /** Octets written but not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Complete frames are waiting because we paused to yield (not because the peer is slow): the
   * hold timer does not expire meanwhile. A peer that sends half a message and stalls does not
   * count as busy.
   */
  get processingBacklog(): boolean {
    return this.scheduled;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** RFC 8654: accept 65535-octet messages from now on. */
  setExtendedMessage(enabled: boolean): void {
    this.reader.setExtendedMessage(enabled);
  }

  /** Writes a message (or several); false when the queue is above the high-water mark. */
  write(data: Uint8Array): boolean {
    if (this.closing || this.socket.destroyed) return false;
    this.socket.write(data);
    if (this.socket.writableLength >= this.highWater) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  /** Writes several messages with one system call (writev): false when above the high-water mark. */
  writeMany(messages: readonly Uint8Array[]): boolean {
    if (this.closing || this.socket.destroyed) return false;
    this.socket.cork();
    for (let i = 0; i < messages.length; i++) this.socket.write(messages[i]!);
    this.socket.uncork();
    if (this.socket.writableLength >= this.highWater) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  /** Flushes what is queued, then closes; destroys the socket if the flush takes too long. */
  close(): void {
    if (this.closing) {
      if (!this.socket.destroyed && this.socket.writableLength === 0) this.socket.destroy();
      return;
    }
    this.closing = true;
    this.socket.removeAllListeners('data');
    this.socket.pause();
    if (this.socket.destroyed) return;
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_FLUSH_MS);
    timer.unref();
    this.socket.end(() => {
      clearTimeout(timer);
      this.socket.destroy();
    });
  }

  /** Drops the connection at once (nothing is flushed). */
  destroy(): void {
    this.closing = true;
    this.socket.removeAllListeners('data');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.handlers.framingError(this, err as BgpMessageError);
      return;
    }
    if (!this.scheduled) this.process();
  }

  private process(): void {
    this.scheduled = false;
    const start = performance.now();
    let n = 0;
    while (!this.closing) {
      let frame: Frame | undefined;
      try {
        frame = this.reader.next();
      } catch (err) {
        this.handlers.framingError(this, err as BgpMessageError);
        return;
      }
      if (!frame) {
        if (this.socket.isPaused()) this.socket.resume();
        return;
      }
      if (!this.handlers.frame(this, frame)) return;
      if (++n % FRAMES_PER_CLOCK_CHECK === 0 && performance.now() - start >= SLICE_MS) {
        this.socket.pause();
        this.scheduled = true;
        setImmediate(() => this.process());
        return;
      }
    }
  }
}

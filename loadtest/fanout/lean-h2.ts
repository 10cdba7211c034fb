// The load generator's HTTP/2 client: one session per agent stream, one stream (id 1) per
// session, frames read straight off the socket (RFC 9113). It exists because the benchmark's
// agents run on the same two cores as the servers they measure: node:http2's client session
// (nghttp2 plus its JS Http2Session and Http2Stream objects) was ~35 % of a load-generator
// worker's cold-start samples and its per-DATA-frame callbacks sat in every change's receipt
// path, while the raw-socket floor is read straight off a net.Socket. This client reads a change
// the way the floor reads its frame (one socket 'data' event, a parse), so the floor and the
// servers are received alike, and the agents cost their cores less.
//
// What it does: the connection preface, SETTINGS (push off, the 4 MiB stream window SyncAgent
// grants) and a WINDOW_UPDATE raising the connection window to the same, then one request's
// HEADERS (a fixed HPACK block: static-table names, literals never indexed, RFC 7541 §6.2.2), in
// one write. It acks the server's SETTINGS and PINGs, hands DATA payloads on stream 1 to the
// stream's 'data' listeners as they arrive (never joined), returns flow-control credit every
// quarter window, and ends the stream on RST_STREAM or on HEADERS with END_STREAM (the gRPC
// trailers). It never decodes the server's header blocks (the benchmark reads no header: a
// rejected call ends the stream either way), so it keeps no HPACK state.
//
// The surface is the part of ClientHttp2Session / ClientHttp2Stream the worker uses, so the
// worker can use either (FANOUT_H2=node picks node:http2, for a same-run comparison).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** RFC 9113 §6: frame types and the flags used here. */
const FrameType = { Data: 0, Headers: 1, RstStream: 3, Settings: 4, Ping: 6, Goaway: 7, WindowUpdate: 8 } as const;
const Flag = { Ack: 0x1, EndStream: 0x1, EndHeaders: 0x4, Padded: 0x8, Priority: 0x20 } as const;
/** RFC 9113 §6.5.2 setting identifiers. */
const Setting = { EnablePush: 0x2, InitialWindowSize: 0x4 } as const;
const FRAME_HEADER = 9;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The one stream a session opens. */
const STREAM_ID = 1;
/** RFC 9113 §6.9.2: every window starts at 65,535 octets. */
const DEFAULT_WINDOW = 65_535;

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER);
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId, 5);
  return b;
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const b = frameHeader(4, FrameType.WindowUpdate, 0, streamId);
  return Buffer.concat([b, u32(increment)]);
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v, 0);
  return b;
}

/** RFC 7541 §5.2: a string literal, not Huffman-coded (all ours are shorter than 127 octets). */
function literal(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  if (bytes.length >= 127) throw new RangeError(`header value too long for this encoder: ${s}`);
  return Buffer.concat([Buffer.of(bytes.length), bytes]);
}

/**
 * The request's header block. RFC 7541 Appendix A static table: 3 `:method POST` and 6/7
 * `:scheme http/https` indexed (§6.1); 1 `:authority`, 4 `:path` and 31 `content-type` as
 * literals never indexed with an indexed name (§6.2.3, 4-bit prefix: 31 is 15 + 16); `te` with a
 * literal name.
 */
export function requestHeaderBlock(authority: string, path: string, tls: boolean): Buffer {
  return Buffer.concat([
    Buffer.of(0x83, tls ? 0x87 : 0x86),
    Buffer.of(0x11),
    literal(authority),
    Buffer.of(0x14),
    literal(path),
    Buffer.of(0x1f, 0x10),
    literal('application/grpc'),
    Buffer.of(0x10),
    literal('te'),
    literal('trailers'),
  ]);
}

export interface LeanSessionOptions {
  /** host:port, sent as :authority. */
  authority: string;
  tls: boolean;
  /** The stream and connection window granted to the server. */
  windowBytes: number;
}

/** The one request of a LeanSession: 'data' (payload pieces as they arrive), 'close', 'error'. */
export class LeanStream extends EventEmitter {
  constructor(private readonly session: LeanSession) {
    super();
  }

  /** Sends PAYLOAD as one DATA frame (ours are hellos and pongs: far below any frame size limit). */
  write(payload: Buffer): boolean {
    return this.session.writeData(payload);
  }

  close(): void {
    this.session.destroy();
  }
}

/**
 * One HTTP/2 connection carrying at most one request. Emits 'remoteSettings' on the server's first
 * SETTINGS, 'error' on a socket error or a protocol error, and 'close' once, when the socket is
 * gone.
 */
export class LeanSession extends EventEmitter {
  private stream: LeanStream | undefined;
  private streamOpen = false;
  private _destroyed = false;
  private settingsSeen = false;
  /** A frame header split across socket reads. */
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER);
  private headerHave = 0;
  /** The frame being read: its type, flags, stream, and bytes of payload still to come. */
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private left = -1;
  /** DATA: padding at the end of the frame still to skip; -1 until the pad length is read. */
  private padLeft = 0;
  private padPending = false;
  /** Non-DATA payload pieces (small frames, joined when complete). */
  private parts: Buffer[] = [];
  /** HEADERS with END_STREAM seen, waiting for END_HEADERS (on it or a CONTINUATION). */
  private endAfterHeaders = false;
  /** DATA octets received since credit was last returned. */
  private unacked = 0;
  private readonly creditEvery: number;

  constructor(
    private readonly socket: Duplex,
    private readonly options: LeanSessionOptions,
  ) {
    super();
    this.creditEvery = Math.max(1, Math.floor(options.windowBytes / 4));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => {
      if (!this._destroyed) this.emit('error', err);
    });
    socket.on('close', () => this.closed());
    // Sent at once (queued until the socket connects), so a session can idle before its request
    // (the warm-standby model) as node:http2's does.
    this.preface();
  }

  get destroyed(): boolean {
    return this._destroyed;
  }

  /** Opens the session's stream: HEADERS, and `first` (the request's first message) as DATA, in one write. */
  request(path: string, first?: Buffer): LeanStream {
    if (this.stream) throw new Error('LeanSession carries one request');
    const stream = new LeanStream(this);
    this.stream = stream;
    this.streamOpen = true;
    const block = requestHeaderBlock(this.options.authority, path, this.options.tls);
    const parts = [frameHeader(block.length, FrameType.Headers, Flag.EndHeaders, STREAM_ID), block];
    if (first) parts.push(frameHeader(first.length, FrameType.Data, 0, STREAM_ID), first);
    this.socket.write(Buffer.concat(parts));
    return stream;
  }

  /** The connection preface: the magic, SETTINGS, and the connection window raised to `windowBytes`. */
  private preface(): void {
    const { windowBytes } = this.options;
    const settings = Buffer.concat([
      frameHeader(12, FrameType.Settings, 0, 0),
      Buffer.of(0, Setting.EnablePush),
      u32(0),
      Buffer.of(0, Setting.InitialWindowSize),
      u32(windowBytes),
    ]);
    const raise = windowBytes > DEFAULT_WINDOW ? [windowUpdate(0, windowBytes - DEFAULT_WINDOW)] : [];
    this.socket.write(Buffer.concat([PREFACE, settings, ...raise]));
  }

  writeData(payload: Buffer): boolean {
    if (this._destroyed || !this.streamOpen) return false;
    return this.socket.write(Buffer.concat([frameHeader(payload.length, FrameType.Data, 0, STREAM_ID), payload]));
  }

  destroy(): void {
    if (this._destroyed) return;
    this._destroyed = true;
    this.socket.destroy();
  }

  private closed(): void {
    this._destroyed = true;
    this.endStream();
    this.emit('close');
  }

  private endStream(): void {
    if (!this.streamOpen) return;
    this.streamOpen = false;
    this.stream?.emit('close');
  }

  private fail(message: string): void {
    if (this._destroyed) return;
    this.emit('error', new Error(`HTTP/2: ${message}`));
    this.destroy();
  }

  private onData(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this._destroyed) {
      if (this.left < 0) {
        const take = Math.min(FRAME_HEADER - this.headerHave, chunk.length - off);
        chunk.copy(this.header, this.headerHave, off, off + take);
        this.headerHave += take;
        off += take;
        if (this.headerHave < FRAME_HEADER) return;
        this.headerHave = 0;
        this.left = this.header.readUIntBE(0, 3);
        this.type = this.header[3]!;
        this.flags = this.header[4]!;
        this.streamId = this.header.readUInt32BE(5) & 0x7fffffff;
        if (this.type === FrameType.Data) {
          this.credit(this.left);
          this.padPending = (this.flags & Flag.Padded) !== 0;
          this.padLeft = 0;
        }
        if (this.left === 0) this.frameDone();
        continue;
      }
      const take = Math.min(this.left, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      this.left -= take;
      if (this.type === FrameType.Data) this.dataPiece(piece);
      else this.parts.push(piece);
      if (this.left === 0) this.frameDone();
    }
  }

  /** A piece of a DATA frame's payload: padding stripped (RFC 9113 §6.1), the rest to the stream. */
  private dataPiece(piece: Buffer): void {
    let p = piece;
    if (this.padPending) {
      this.padPending = false;
      this.padLeft = p[0]!;
      p = p.subarray(1);
    }
    // The padding is the frame's last padLeft octets: what of them this piece holds is dropped.
    const keep = Math.max(0, p.length - Math.max(0, this.padLeft - this.left));
    if (keep > 0 && this.streamId === STREAM_ID && this.streamOpen) this.stream!.emit('data', p.subarray(0, keep));
  }

  private frameDone(): void {
    const type = this.type;
    const flags = this.flags;
    const payload =
      this.parts.length === 0 ? undefined : this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.left = -1;
    switch (type) {
      case FrameType.Data:
        if (this.streamId === STREAM_ID && flags & Flag.EndStream) this.endStream();
        return;
      case FrameType.Headers:
      case 9 /* CONTINUATION */:
        if (type === FrameType.Headers && flags & Flag.EndStream) this.endAfterHeaders = true;
        if (flags & Flag.EndHeaders && this.endAfterHeaders && this.streamId === STREAM_ID) {
          this.endAfterHeaders = false;
          this.endStream();
        }
        return;
      case FrameType.RstStream:
        if (this.streamId === STREAM_ID) this.endStream();
        return;
      case FrameType.Settings:
        if (flags & Flag.Ack) return;
        if ((payload?.length ?? 0) % 6 !== 0) return this.fail('SETTINGS length not a multiple of 6');
        this.socket.write(frameHeader(0, FrameType.Settings, Flag.Ack, 0));
        if (!this.settingsSeen) {
          this.settingsSeen = true;
          this.emit('remoteSettings');
        }
        return;
      case FrameType.Ping:
        if (flags & Flag.Ack) return;
        if (payload?.length !== 8) return this.fail('PING payload is not 8 octets');
        this.socket.write(Buffer.concat([frameHeader(8, FrameType.Ping, Flag.Ack, 0), payload]));
        return;
      default:
        // GOAWAY: the stream ends by RST_STREAM, trailers or the socket closing; WINDOW_UPDATE: our
        // sends are a few hundred octets; PRIORITY, PUSH_PROMISE (push is off), unknown: ignored.
        return;
    }
  }

  /** Returns flow-control credit for the connection and the stream (RFC 9113 §6.9) every quarter window. */
  private credit(octets: number): void {
    this.unacked += octets;
    if (this.unacked < this.creditEvery) return;
    const n = this.unacked;
    this.unacked = 0;
    const frames = [windowUpdate(0, n)];
    if (this.streamOpen) frames.push(windowUpdate(STREAM_ID, n));
    this.socket.write(Buffer.concat(frames));
  }
}

// Message header (RFC 4271 §4.1) and TCP framing. `FrameReader` takes TCP chunks in arrival order
// and returns complete messages as `subarray` views of the chunks; only a message that spans two
// or more chunks is copied, once, into its own buffer. The header is validated (marker, length,
// type) as soon as its 19 octets have arrived, before any of the body is awaited, so a corrupt
// stream fails at once instead of after up to 64 KiB of waiting.
//
// Rejected alternative: concatenating every chunk into a growing buffer (simple, but copies each
// byte at least once and re-copies on growth; nats.js and grpc-js both slice instead).

import {
  ErrorCode,
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageHeaderSubcode,
  MessageType,
  MIN_NOTIFICATION_LENGTH,
  MIN_OPEN_LENGTH,
  MIN_UPDATE_LENGTH,
} from './constants.js';
import { sessionError } from './errors.js';
import type { Frame } from './types.js';

const MARKER_LENGTH = 16;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [MessageType.Open]: 'OPEN',
  [MessageType.Update]: 'UPDATE',
  [MessageType.Notification]: 'NOTIFICATION',
  [MessageType.Keepalive]: 'KEEPALIVE',
  [MessageType.RouteRefresh]: 'ROUTE-REFRESH',
};

/** The name of a message type ("UPDATE"), or "type N" for unknown ones. */
export function messageTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n >> 8, n & 255]);
}

/**
 * Checks a header whose 19 octets are `h[off..off+19)` and returns the message length.
 * `maxLength` is 4096, or 65535 once extended messages are negotiated (RFC 8654 §4: OPEN and
 * KEEPALIVE stay within 4096 regardless).
 */
export function checkHeader(h: Uint8Array, off: number, maxLength: number): number {
  // RFC 4271 §6.1: marker must be all ones.
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (h[off + i] !== 0xff) {
      throw sessionError(
        `message header: marker octet ${i} is 0x${h[off + i]!.toString(16).padStart(2, '0')}, expected all ones`,
        ErrorCode.MessageHeader,
        MessageHeaderSubcode.ConnectionNotSynchronized,
      );
    }
  }
  const length = (h[off + 16]! << 8) | h[off + 17]!;
  const type = h[off + 18]!;
  const name = TYPE_NAMES[type] ?? `type ${type}`;
  const bad = (why: string): never => {
    throw sessionError(
      `message header: ${name} length ${length} ${why}`,
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      u16(length),
    );
  };
  // RFC 4271 §6.1: length outside 19..4096 (65535 with RFC 8654) → Bad Message Length.
  if (length < HEADER_LENGTH || length > maxLength) bad(`is outside ${HEADER_LENGTH}..${maxLength}`);
  // RFC 4271 §6.1: unknown type → Bad Message Type with the type as data.
  if (TYPE_NAMES[type] === undefined) {
    throw sessionError(
      `message header: unknown message type ${type}`,
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageType,
      new Uint8Array([type]),
    );
  }
  // RFC 8654 §4: OPEN and KEEPALIVE never exceed 4096 octets.
  if ((type === MessageType.Open || type === MessageType.Keepalive) && length > MAX_MESSAGE_LENGTH)
    bad(`exceeds ${MAX_MESSAGE_LENGTH}`);
  // RFC 4271 §6.1: below the minimum length of the message type → Bad Message Length.
  switch (type) {
    case MessageType.Open:
      if (length < MIN_OPEN_LENGTH) bad(`is below the minimum ${MIN_OPEN_LENGTH}`);
      break;
    case MessageType.Update:
      if (length < MIN_UPDATE_LENGTH) bad(`is below the minimum ${MIN_UPDATE_LENGTH}`);
      break;
    case MessageType.Notification:
      if (length < MIN_NOTIFICATION_LENGTH) bad(`is below the minimum ${MIN_NOTIFICATION_LENGTH}`);
      break;
    case MessageType.Keepalive:
      if (length !== HEADER_LENGTH) bad(`is not ${HEADER_LENGTH}`);
      break;
  }
  return length;
}

/** Writes a header (all-ones marker, length, type) at `off`. */
export function writeHeader(out: Uint8Array, off: number, length: number, type: number): void {
  out.fill(0xff, off, off + MARKER_LENGTH);
  out[off + 16] = length >> 8;
  out[off + 17] = length & 255;
  out[off + 18] = type;
}

export interface FrameReaderOptions {
  /** RFC 8654: accept messages up to 65535 octets (set after the OPEN exchange). */
  readonly extendedMessage?: boolean;
}

/**
 * Splits a TCP byte stream into BGP messages. Call `push(chunk)` for every chunk, then `next()`
 * until it returns undefined. Both throw `BgpMessageError` (session-reset) on a bad header; the
 * reader is unusable afterwards. Returned views stay valid as long as the caller keeps them (the
 * reader never writes into a chunk).
 */
export class FrameReader {
  /** Chunks not yet fully consumed; `chunks[0]` is read from `offset`. */
  private chunks: Uint8Array[] = [];
  private offset = 0;
  /** Octets available across `chunks` from `offset`. */
  private available = 0;
  /** Length of the message whose header was validated but whose body has not fully arrived; 0 if none. */
  private pending = 0;
  private maxLength: number;
  private failed: Error | undefined;
  private readonly scratch = new Uint8Array(HEADER_LENGTH);

  constructor(options: FrameReaderOptions = {}) {
    this.maxLength = options.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  }

  /** Switch to 65535-octet messages (RFC 8654) once both sides advertised the capability. */
  setExtendedMessage(enabled: boolean): void {
    this.maxLength = enabled ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  }

  /** Octets received but not yet returned as messages. */
  get buffered(): number {
    return this.available;
  }

  /** Appends a chunk; validates the next header as soon as it is complete. */
  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
    if (this.pending === 0 && this.available >= HEADER_LENGTH) this.readHeader();
  }

  /** The next complete message, or undefined when more bytes are needed. */
  next(): Frame | undefined {
    if (this.failed) throw this.failed;
    if (this.pending === 0) {
      if (this.available < HEADER_LENGTH) return undefined;
      this.readHeader();
    }
    const length = this.pending;
    if (this.available < length) return undefined;
    const first = this.chunks[0]!;
    let message: Uint8Array;
    if (first.length - this.offset >= length) {
      message = first.subarray(this.offset, this.offset + length);
      this.offset += length;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    } else {
      message = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const c = this.chunks[0]!;
        const take = Math.min(c.length - this.offset, length - filled);
        message.set(c.subarray(this.offset, this.offset + take), filled);
        filled += take;
        this.offset += take;
        if (this.offset === c.length) {
          this.chunks.shift();
          this.offset = 0;
        }
      }
    }
    this.available -= length;
    this.pending = 0;
    // The following header is checked by the next call, so this message is delivered even when
    // garbage follows it (e.g. a NOTIFICATION before the peer's stream breaks).
    return { type: message[18]!, message, body: message.subarray(HEADER_LENGTH) };
  }

  private readHeader(): void {
    const first = this.chunks[0]!;
    let h: Uint8Array = first;
    let off = this.offset;
    if (first.length - this.offset < HEADER_LENGTH) {
      let filled = 0;
      for (let i = 0, o = this.offset; filled < HEADER_LENGTH; i++, o = 0) {
        const c = this.chunks[i]!;
        const take = Math.min(c.length - o, HEADER_LENGTH - filled);
        this.scratch.set(c.subarray(o, o + take), filled);
        filled += take;
      }
      h = this.scratch;
      off = 0;
    }
    try {
      this.pending = checkHeader(h, off, this.maxLength);
    } catch (err) {
      this.failed = err as Error;
      throw err;
    }
  }
}

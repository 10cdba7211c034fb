// Whole-message decode/encode dispatch over the five message types, with the RFC 4271 §6.1
// header checks; `encodedLength` runs the same sizing code the encoders use.

import { ErrorCode, HEADER_LENGTH, MessageHeaderSubcode, MessageType, ROUTE_REFRESH_LENGTH } from './constants.js';
import { sessionError, type BgpMessageError } from './errors.js';
import { checkHeader, writeHeader } from './header.js';
import { maxMessageLength } from './negotiate.js';
import { decodeNotification, notificationLength, writeNotification } from './notification.js';
import { decodeOpen, openLength, writeOpen } from './open.js';
import { decodeRouteRefresh, writeRouteRefresh } from './route-refresh.js';
import { decodeUpdate, updateLength, writeUpdate } from './update.js';
import type { BgpMessage, CodecOptions } from './types.js';

export interface DecodeResult {
  readonly message: BgpMessage;
  /** For UPDATE: the strongest attribute-discard / treat-as-withdraw error (RFC 7606). */
  readonly error?: BgpMessageError;
}

/**
 * Decodes one whole message (header included), e.g. `Frame.message`. Throws BgpMessageError for
 * header errors and session-level errors; see `decodeUpdate` for the UPDATE result.
 */
export function decodeMessage(message: Uint8Array, opts: CodecOptions): DecodeResult {
  if (message.length < HEADER_LENGTH) {
    throw sessionError(
      `message header: ${message.length} octets, a header needs ${HEADER_LENGTH}`,
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      new Uint8Array([message.length >> 8, message.length & 255]),
    );
  }
  const length = checkHeader(message, 0, maxMessageLength(opts));
  if (length !== message.length) {
    throw sessionError(
      `message header: length field ${length} but the message has ${message.length} octets`,
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      message.subarray(16, 18),
    );
  }
  const body = message.subarray(HEADER_LENGTH);
  switch (message[18]) {
    case MessageType.Open:
      return { message: decodeOpen(body) };
    case MessageType.Update: {
      const r = decodeUpdate(body, opts);
      return r.error === undefined ? { message: r.update } : { message: r.update, error: r.error };
    }
    case MessageType.Notification:
      return { message: decodeNotification(body) };
    case MessageType.Keepalive:
      return { message: { type: MessageType.Keepalive } };
    default:
      return { message: decodeRouteRefresh(message) };
  }
}

/** The exact number of octets `encodeMessage(m, opts)` produces (validating `m`). */
export function encodedLength(m: BgpMessage, opts: CodecOptions): number {
  switch (m.type) {
    case MessageType.Open:
      return openLength(m);
    case MessageType.Update:
      return updateLength(m, opts);
    case MessageType.Notification:
      return notificationLength(m);
    case MessageType.Keepalive:
      return HEADER_LENGTH;
    case MessageType.RouteRefresh:
      return ROUTE_REFRESH_LENGTH;
  }
}

/** Encodes any message into one freshly allocated buffer of exactly `encodedLength` octets. */
export function encodeMessage(m: BgpMessage, opts: CodecOptions): Uint8Array {
  const out = Buffer.allocUnsafe(encodedLength(m, opts));
  let written: number;
  switch (m.type) {
    case MessageType.Open:
      written = writeOpen(out, 0, m);
      break;
    case MessageType.Update:
      written = writeUpdate(out, 0, m, opts);
      break;
    case MessageType.Notification:
      written = writeNotification(out, 0, m);
      break;
    case MessageType.Keepalive:
      writeHeader(out, 0, HEADER_LENGTH, MessageType.Keepalive);
      written = HEADER_LENGTH;
      break;
    case MessageType.RouteRefresh:
      written = writeRouteRefresh(out, 0, m);
      break;
  }
  if (written !== out.length) throw new Error(`encodeMessage: wrote ${written} octets, computed ${out.length}`);
  return out;
}

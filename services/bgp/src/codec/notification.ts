// NOTIFICATION (RFC 4271 §4.5), KEEPALIVE (§4.4) and the RFC 9003 shutdown communication carried
// in Cease / Administrative Shutdown and Administrative Reset.

import { copyBytes } from './bytes.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import {
  CeaseSubcode,
  ErrorCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MAX_SHUTDOWN_COMMUNICATION_LENGTH,
  MessageType,
  MIN_NOTIFICATION_LENGTH,
} from './constants.js';
import { writeHeader } from './header.js';
import type { KeepaliveMessage, NotificationMessage } from './types.js';

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** RFC 4271 §4.5: code, subcode, then data to the end of the message. */
export function decodeNotification(body: Uint8Array): NotificationMessage {
  return { type: MessageType.Notification, code: body[0]!, subcode: body[1]!, data: copyBytes(body.subarray(2)) };
}

export function notificationLength(n: NotificationMessage): number {
  return MIN_NOTIFICATION_LENGTH + n.data.length;
}

export function writeNotification(out: Uint8Array, off: number, n: NotificationMessage): number {
  const length = notificationLength(n);
  if (length > MAX_MESSAGE_LENGTH) {
    throw new InvalidArgumentError(
      `notification.data: ${n.data.length} octets make a ${length}-octet message (max ${MAX_MESSAGE_LENGTH})`,
      { field: 'notification.data' },
    );
  }
  for (const [field, v] of [
    ['code', n.code],
    ['subcode', n.subcode],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new InvalidArgumentError(`notification.${field}: ${v} is not an octet`, { field: `notification.${field}` });
  }
  writeHeader(out, off, length, MessageType.Notification);
  out[off + HEADER_LENGTH] = n.code;
  out[off + HEADER_LENGTH + 1] = n.subcode;
  out.set(n.data, off + MIN_NOTIFICATION_LENGTH);
  return length;
}

export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: MessageType.Keepalive });

/**
 * A Cease NOTIFICATION with an RFC 9003 shutdown communication (Administrative Shutdown or
 * Administrative Reset). The text is truncated at a character boundary to 255 UTF-8 octets.
 */
export function shutdownNotification(
  subcode: typeof CeaseSubcode.AdministrativeShutdown | typeof CeaseSubcode.AdministrativeReset,
  text: string,
): NotificationMessage {
  let bytes = utf8.encode(text);
  if (bytes.length > MAX_SHUTDOWN_COMMUNICATION_LENGTH) {
    let end = MAX_SHUTDOWN_COMMUNICATION_LENGTH;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const data = new Uint8Array(1 + bytes.length);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return { type: MessageType.Notification, code: ErrorCode.Cease, subcode, data };
}

/**
 * The RFC 9003 shutdown communication of a Cease / Administrative Shutdown or Reset NOTIFICATION;
 * undefined when there is none or it is malformed (RFC 9003 §4: then it must be ignored).
 */
export function shutdownCommunication(n: NotificationMessage): string | undefined {
  if (n.code !== ErrorCode.Cease) return undefined;
  if (n.subcode !== CeaseSubcode.AdministrativeShutdown && n.subcode !== CeaseSubcode.AdministrativeReset)
    return undefined;
  if (n.data.length === 0) return undefined;
  const len = n.data[0]!;
  // RFC 9003 §2: the length must fit the data; §4: invalid UTF-8 is treated as absent.
  if (len === 0 || 1 + len > n.data.length) return undefined;
  try {
    return utf8Strict.decode(n.data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

// How the speaker writes NOTIFICATIONs and identifiers in logs and status (RFC 4271 §4.5 names),
// and which NOTIFICATION an FSM action sends.

import {
  CeaseSubcode,
  ErrorCode,
  MessageType,
  shutdownNotification,
  type NotificationMessage,
} from '../codec/index.js';
import type { FsmAction } from '../fsm/index.js';

/** The message for a SendNotification action: a shutdown or reset with its RFC 9003 text, or plain. */
export function notificationFor(a: Extract<FsmAction, { type: 'SendNotification' }>): NotificationMessage {
  return a.message !== undefined &&
    a.code === ErrorCode.Cease &&
    (a.subcode === CeaseSubcode.AdministrativeShutdown || a.subcode === CeaseSubcode.AdministrativeReset)
    ? shutdownNotification(a.subcode, a.message)
    : { type: MessageType.Notification, code: a.code, subcode: a.subcode, data: a.data ?? new Uint8Array(0) };
}

export function describeNotification(n: { code: number; subcode: number }, text?: string): string {
  const codes: Record<number, string> = {
    1: 'Message Header Error',
    2: 'OPEN Message Error',
    3: 'UPDATE Message Error',
    4: 'Hold Timer Expired',
    5: 'Finite State Machine Error',
    6: 'Cease',
    7: 'ROUTE-REFRESH Message Error',
  };
  return `${codes[n.code] ?? `code ${n.code}`} subcode ${n.subcode}${text ? `: "${text}"` : ''}`;
}

/**
 * The error code for a message that failed to decode with something other than a BgpMessageError
 * (a codec bug): the unspecific error of the message's kind, rather than taking the process down.
 */
export function errorCodeFor(frameType: number | undefined): number {
  if (frameType === MessageType.Open) return ErrorCode.OpenMessage;
  if (frameType === MessageType.Update) return ErrorCode.UpdateMessage;
  return ErrorCode.MessageHeader;
}

// BgpMessageError: a decoding failure with its protocol meaning. `code`/`subcode`/`data` are the
// NOTIFICATION the FSM would send (RFC 4271 §6); `handling` is the RFC 7606 §2 action. The codec
// never decides between NOTIFICATION and withdrawal: it reports, the FSM acts.

import { copyBytes } from './bytes.js';
import { MessageType } from './constants.js';
import type { NotificationMessage } from './types.js';

/** RFC 7606 §2 error handling approaches, weakest first. */
export type ErrorHandling = 'attribute-discard' | 'treat-as-withdraw' | 'afisafi-disable' | 'session-reset';

const STRENGTH: Readonly<Record<ErrorHandling, number>> = {
  'attribute-discard': 0,
  'treat-as-withdraw': 1,
  'afisafi-disable': 2,
  'session-reset': 3,
};

const EMPTY = new Uint8Array(0);

export interface BgpMessageErrorInit {
  readonly code: number;
  readonly subcode: number;
  readonly handling: ErrorHandling;
  /** NOTIFICATION data: the offending field or attribute (RFC 4271 §6). */
  readonly data?: Uint8Array;
  /** For `afisafi-disable`: the family to disable (RFC 7606 §7.11, RFC 4760 §7). */
  readonly afi?: number;
  readonly safi?: number;
}

export class BgpMessageError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  readonly handling: ErrorHandling;
  readonly afi: number | undefined;
  readonly safi: number | undefined;

  constructor(message: string, init: BgpMessageErrorInit) {
    super(message);
    this.name = 'BgpMessageError';
    this.code = init.code;
    this.subcode = init.subcode;
    this.data = init.data === undefined ? EMPTY : copyBytes(init.data);
    this.handling = init.handling;
    this.afi = init.afi;
    this.safi = init.safi;
  }

  /** The NOTIFICATION to send when the FSM resets the session for this error. */
  toNotification(): NotificationMessage {
    return { type: MessageType.Notification, code: this.code, subcode: this.subcode, data: this.data };
  }
}

/** The stronger of two errors by RFC 7606 handling; the earlier one wins a tie. */
export function strongerError(a: BgpMessageError | undefined, b: BgpMessageError): BgpMessageError {
  if (a === undefined) return b;
  return STRENGTH[b.handling] > STRENGTH[a.handling] ? b : a;
}

/** True when the handling requires more than dropping an attribute or withdrawing the routes. */
export function isSessionLevel(handling: ErrorHandling): boolean {
  return STRENGTH[handling] >= STRENGTH['afisafi-disable'];
}

/** Shorthand for the session-reset errors of the message header and OPEN checks. */
export function sessionError(message: string, code: number, subcode: number, data?: Uint8Array): BgpMessageError {
  return new BgpMessageError(message, { code, subcode, handling: 'session-reset', ...(data ? { data } : {}) });
}

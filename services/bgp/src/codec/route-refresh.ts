// ROUTE-REFRESH (RFC 2918 §3) with the RFC 7313 §3 subtype in the former reserved octet:
// 0 normal request, 1 Beginning of Route Refresh, 2 End of Route Refresh.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import {
  ErrorCode,
  HEADER_LENGTH,
  MessageHeaderSubcode,
  MessageType,
  ROUTE_REFRESH_LENGTH,
  RouteRefreshErrorSubcode,
  RouteRefreshSubtype,
} from './constants.js';
import { sessionError } from './errors.js';
import { writeHeader } from './header.js';
import type { RouteRefreshMessage } from './types.js';

const BODY_LENGTH = ROUTE_REFRESH_LENGTH - HEADER_LENGTH;

/** `message` is the whole message (RFC 7313 §5 wants it as NOTIFICATION data). */
export function decodeRouteRefresh(message: Uint8Array): RouteRefreshMessage {
  const body = message.subarray(HEADER_LENGTH);
  if (body.length !== BODY_LENGTH) {
    const subtype = body.length >= 3 ? body[2]! : RouteRefreshSubtype.Normal;
    // RFC 7313 §5: BoRR/EoRR of the wrong length → ROUTE-REFRESH error with the whole message.
    if (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh || subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      throw sessionError(
        `ROUTE-REFRESH: subtype ${subtype} body is ${body.length} octets, expected ${BODY_LENGTH}`,
        ErrorCode.RouteRefreshMessage,
        RouteRefreshErrorSubcode.InvalidMessageLength,
        message,
      );
    }
    // RFC 2918 / RFC 4271 §6.1: otherwise a header length error.
    throw sessionError(
      `ROUTE-REFRESH: body is ${body.length} octets, expected ${BODY_LENGTH}`,
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      new Uint8Array([message.length >> 8, message.length & 255]),
    );
  }
  return { type: MessageType.RouteRefresh, afi: (body[0]! << 8) | body[1]!, subtype: body[2]!, safi: body[3]! };
}

export function writeRouteRefresh(out: Uint8Array, off: number, m: RouteRefreshMessage): number {
  const check = (field: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new InvalidArgumentError(`routeRefresh.${field}: ${v} is outside 0..${max}`, {
        field: `routeRefresh.${field}`,
      });
  };
  check('afi', m.afi, 0xffff);
  check('safi', m.safi, 0xff);
  check('subtype', m.subtype, 0xff);
  writeHeader(out, off, ROUTE_REFRESH_LENGTH, MessageType.RouteRefresh);
  const o = off + HEADER_LENGTH;
  out[o] = m.afi >> 8;
  out[o + 1] = m.afi & 255;
  out[o + 2] = m.subtype;
  out[o + 3] = m.safi;
  return ROUTE_REFRESH_LENGTH;
}

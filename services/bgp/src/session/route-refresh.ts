// ROUTE-REFRESH (RFC 2918) and its enhanced form with BoRR/EoRR markers (RFC 7313): the messages
// a peer sends, and what a received one asks for.
import { FailedPreconditionError } from '../../../shared/errors/index.js';
import {
  MessageType,
  RouteRefreshSubtype,
  decodeRouteRefresh,
  encodeMessage,
  type NegotiatedOptions,
} from '../codec/index.js';

/** A refresh request for a family; the session must have negotiated route refresh. */
export function refreshRequest(negotiated: NegotiatedOptions, peer: string, afi: number, safi: number): Uint8Array {
  if (!negotiated.routeRefresh)
    throw new FailedPreconditionError(`refresh: peer ${peer} did not negotiate route refresh`);
  return encodeMessage({ type: MessageType.RouteRefresh, afi, safi, subtype: RouteRefreshSubtype.Normal }, negotiated);
}

/** BoRR or EoRR around a re-sent family; undefined without enhanced route refresh. */
export function refreshMarker(
  negotiated: NegotiatedOptions,
  afi: number,
  safi: number,
  marker: 'begin' | 'end',
): Uint8Array | undefined {
  if (!negotiated.enhancedRouteRefresh) return undefined;
  const subtype =
    marker === 'begin' ? RouteRefreshSubtype.BeginningOfRouteRefresh : RouteRefreshSubtype.EndOfRouteRefresh;
  return encodeMessage({ type: MessageType.RouteRefresh, afi, safi, subtype }, negotiated);
}

export type RefreshAsk =
  | { readonly kind: 'request' | 'begin' | 'end'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'not-negotiated'; readonly afi: number; readonly safi: number }
  | undefined;

/** What a received ROUTE-REFRESH asks of the session; undefined for what is silently ignored. */
export function readRefresh(body: Uint8Array, n: NegotiatedOptions): RefreshAsk {
  const rr = decodeRouteRefresh(body);
  // RFC 2918 §4: a refresh we did not negotiate or for a family we did not advertise is ignored.
  if (!n.routeRefresh || !n.families.some((f) => f.afi === rr.afi && f.safi === rr.safi))
    return { kind: 'not-negotiated', afi: rr.afi, safi: rr.safi };
  const kind =
    rr.subtype === RouteRefreshSubtype.Normal
      ? 'request'
      : rr.subtype === RouteRefreshSubtype.BeginningOfRouteRefresh
        ? 'begin'
        : rr.subtype === RouteRefreshSubtype.EndOfRouteRefresh
          ? 'end'
          : undefined;
  // RFC 7313 §3: other subtypes are ignored; BoRR/EoRR only count with enhanced route refresh.
  if (!kind || (kind !== 'request' && !n.enhancedRouteRefresh)) return undefined;
  return { kind, afi: rr.afi, safi: rr.safi };
}

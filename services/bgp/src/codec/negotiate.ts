// The OPEN exchange outcome (RFC 4271 §4.2, RFC 5492): what both sides support, computed once by
// the session and handed to every encode/decode call. Upgrade rule: never send a message type,
// attribute encoding or NLRI format unless both OPENs allow it (e.g. 4-octet AS_PATH only when
// both advertised capability 65, ADD-PATH ids only in the negotiated direction).

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import {
  AddPathSendReceive,
  Afi,
  CapabilityCode,
  ErrorCode,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  OpenMessageSubcode,
  Safi,
} from './constants.js';
import { sessionError } from './errors.js';
import { openAsn } from './open.js';
import type { AddPathOption, AfiSafi, Capability, CodecOptions, NegotiatedOptions, OpenMessage } from './types.js';

/** RFC 4271 only: 2-octet AS, 4096-octet messages, no ADD-PATH. Use until the OPENs are exchanged. */
export const BASELINE_CODEC_OPTIONS: CodecOptions = Object.freeze({
  fourOctetAs: false,
  extendedMessage: false,
  addPath: Object.freeze([]),
});

function has(open: OpenMessage, kind: Capability['kind']): boolean {
  return open.capabilities.some((c) => c.kind === kind);
}

function families(open: OpenMessage): AfiSafi[] {
  const out: AfiSafi[] = [];
  for (const c of open.capabilities) {
    if (c.kind === 'MultiProtocol' && !out.some((f) => f.afi === c.afi && f.safi === c.safi))
      out.push({ afi: c.afi, safi: c.safi });
  }
  // RFC 4760 §8: a speaker without Multiprotocol capabilities supports IPv4 unicast only.
  return out.length > 0 ? out : [{ afi: Afi.Ipv4, safi: Safi.Unicast }];
}

function addPathMode(open: OpenMessage, f: AfiSafi): number {
  let mode = 0;
  for (const c of open.capabilities) {
    if (c.kind !== 'AddPath') continue;
    for (const a of c.afis) {
      // RFC 7911 §4: values other than 1..3 are ignored.
      if (
        a.afi === f.afi &&
        a.safi === f.safi &&
        a.sendReceive >= AddPathSendReceive.Receive &&
        a.sendReceive <= AddPathSendReceive.Both
      )
        mode = a.sendReceive;
    }
  }
  return mode;
}

/**
 * Combines our OPEN with the peer's. Throws `BgpMessageError` (session-reset) for a peer hold
 * time of 1 or 2 s (RFC 4271 §6.2) or an iBGP peer with our own BGP identifier (RFC 6286 §2.2);
 * `InvalidArgumentError` when our own hold time is 1 or 2.
 */
export function negotiate(local: OpenMessage, remote: OpenMessage): NegotiatedOptions {
  if (local.holdTime === 1 || local.holdTime === 2) {
    throw new InvalidArgumentError(`local OPEN holdTime: ${local.holdTime} s is neither 0 nor at least 3`, {
      field: 'holdTime',
    });
  }
  if (remote.holdTime === 1 || remote.holdTime === 2) {
    throw sessionError(
      `OPEN: hold time ${remote.holdTime} s is neither 0 nor at least 3`,
      ErrorCode.OpenMessage,
      OpenMessageSubcode.UnacceptableHoldTime,
    );
  }
  const localAs = openAsn(local);
  const peerAs = openAsn(remote);
  if (localAs === peerAs && local.bgpId === remote.bgpId) {
    throw sessionError(
      `OPEN: internal peer uses our own BGP identifier ${remote.bgpId}`,
      ErrorCode.OpenMessage,
      OpenMessageSubcode.BadBgpIdentifier,
    );
  }
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  const ours = families(local);
  const theirs = families(remote);
  const common = ours.filter((f) => theirs.some((g) => g.afi === f.afi && g.safi === f.safi));
  const addPath: AddPathOption[] = [];
  for (const f of common) {
    const l = addPathMode(local, f);
    const r = addPathMode(remote, f);
    // RFC 7911 §5: receive when we advertised receive and the peer send; send the other way round.
    const receive = (l & AddPathSendReceive.Receive) !== 0 && (r & AddPathSendReceive.Send) !== 0;
    const send = (l & AddPathSendReceive.Send) !== 0 && (r & AddPathSendReceive.Receive) !== 0;
    if (receive || send) addPath.push({ afi: f.afi, safi: f.safi, receive, send });
  }
  const routeRefreshOf = (o: OpenMessage): boolean =>
    has(o, 'RouteRefresh') ||
    o.capabilities.some((c) => c.kind === 'Unknown' && c.code === CapabilityCode.RouteRefreshCisco);
  const extendedMessage = has(local, 'ExtendedMessage') && has(remote, 'ExtendedMessage');
  const gr = remote.capabilities.find(
    (c): c is Extract<Capability, { kind: 'GracefulRestart' }> => c.kind === 'GracefulRestart',
  );
  const llgr = remote.capabilities.find(
    (c): c is Extract<Capability, { kind: 'LongLivedGracefulRestart' }> => c.kind === 'LongLivedGracefulRestart',
  );
  return {
    fourOctetAs: has(local, 'FourOctetAs') && has(remote, 'FourOctetAs'),
    extendedMessage,
    addPath,
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    peerAs,
    peerBgpId: remote.bgpId,
    families: common,
    routeRefresh: routeRefreshOf(local) && routeRefreshOf(remote),
    enhancedRouteRefresh: has(local, 'EnhancedRouteRefresh') && has(remote, 'EnhancedRouteRefresh'),
    ...(gr ? { peerGracefulRestart: gr } : {}),
    ...(llgr ? { peerLongLivedGracefulRestart: llgr } : {}),
    maxMessageLength: extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
  };
}

/** 4096, or 65535 when extended messages were negotiated (RFC 8654). */
export function maxMessageLength(opts: CodecOptions): number {
  return opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

/** Whether NLRI of this family carry RFC 7911 path identifiers in the given direction. */
export function addPathFor(opts: CodecOptions, afi: number, safi: number, direction: 'receive' | 'send'): boolean {
  for (const a of opts.addPath) if (a.afi === afi && a.safi === safi) return a[direction];
  return false;
}

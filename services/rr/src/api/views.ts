// What the admin API reports, built from the reflector's own state (the generated proto types
// stay here, at the edge).

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type {
  GetStatusResponse,
  ListRoutesResponse,
  PeerInfo,
  PrefixRoutes,
  RoutePath,
} from '../../../../proto/gen/meshless/v1/rr_admin.js';
import { AsPathSegmentType, formatCommunity, parsePrefix, prefixToString, type Prefix } from '../../../bgp/index.js';
import { NONE, RouteFlag, type RouteView } from '../rib/index.js';
import type { Reflector } from '../reflector/reflector.js';

const FAMILY_NAMES: Record<string, string> = { '1/1': 'ipv4-unicast', '2/1': 'ipv6-unicast' };
const ORIGINS = ['IGP', 'EGP', 'incomplete'];
const SOURCE: Record<string, string> = { local: 'local', ebgp: 'eBGP', ibgp: 'iBGP', client: 'iBGP client' };

export function statusView(rr: Reflector, persistBacklog: number): GetStatusResponse {
  return {
    asNumber: rr.settings.asNumber,
    routerId: rr.settings.routerId,
    clusterId: rr.settings.clusterId,
    restarting: rr.isRestarting,
    prefixes: rr.rib.prefixCount,
    paths: rr.rib.routeCount,
    attributeSets: rr.rib.attributeSetCount,
    updateGroups: rr.exporter.groupCount,
    persistBacklog,
  };
}

export function peersView(rr: Reflector): PeerInfo[] {
  return rr.peerSettings().map((s) => {
    const st = rr.speaker.peer(s.address);
    const rp = rr.ribPeer(s.address);
    const n = st?.negotiated;
    const family = (f: { afi: number; safi: number }) => FAMILY_NAMES[`${f.afi}/${f.safi}`] ?? `${f.afi}/${f.safi}`;
    return {
      address: s.address,
      asNumber: s.asNumber,
      type: SOURCE[rr.peerKind(s.address)]!,
      state: st?.state ?? 'Idle',
      establishedAtMs: st?.establishedAt ?? 0,
      info: st?.lastError ?? '',
      routerId: n?.peerBgpId ?? '',
      prefixesReceived: rp.count + rp.rejected,
      prefixesAccepted: rp.count,
      prefixesRejected: rp.rejected,
      prefixesSent: n ? rr.advertisedCount(s.address) : 0,
      flaps: st?.flaps ?? 0,
      description: s.description ?? '',
      families: n ? n.families.map(family) : [],
      addPathSend: n ? n.addPath.filter((o) => o.send).map(family) : [],
    };
  });
}

function pathView(rr: Reflector, v: RouteView, best: boolean): RoutePath {
  const a = v.set.attrs;
  const asPath = a.asPath
    .map((seg) =>
      seg.type === AsPathSegmentType.AsSet
        ? `{${seg.asns.join(' ')}}`
        : seg.type === AsPathSegmentType.AsSequence
          ? seg.asns.join(' ')
          : `(${seg.asns.join(' ')})`,
    )
    .join(' ');
  return {
    peer: v.peer.kind === 'local' ? '' : v.peer.address,
    source: SOURCE[v.peer.kind]!,
    best,
    pathId: v.pathId,
    nextHop: v.set.nextHop || rr.settings.routerId,
    asPath,
    origin: ORIGINS[a.origin] ?? String(a.origin),
    hasLocalPref: a.localPref !== undefined,
    localPref: a.localPref ?? 0,
    hasMed: a.med !== undefined,
    med: a.med ?? 0,
    communities: (a.communities ?? []).map(formatCommunity),
    largeCommunities: (a.largeCommunities ?? []).map((l) => `${l.globalAdmin}:${l.localData1}:${l.localData2}`),
    originatorId: a.originatorId ?? '',
    clusterList: [...(a.clusterList ?? [])],
    stale: (v.flags & RouteFlag.Stale) !== 0,
    llgrStale: (v.flags & RouteFlag.LlgrStale) !== 0 || v.set.llgrStale,
  };
}

function prefixRoutes(rr: Reflector, d: number): PrefixRoutes {
  const ranked = rr.rib.rankedRoutes(d);
  const best = rr.rib.bestRoute(d);
  return {
    prefix: prefixToString(rr.rib.destPrefix(d)),
    paths: ranked.map((v) => pathView(rr, v, v.route === best && best !== NONE)),
  };
}

function contains(outer: Prefix, inner: Prefix): boolean {
  if (outer.afi !== inner.afi || inner.length < outer.length) return false;
  const whole = outer.length >> 3;
  for (let i = 0; i < whole; i++) if (outer.bytes[i] !== inner.bytes[i]) return false;
  const rest = outer.length & 7;
  if (!rest) return true;
  const mask = (0xff00 >> rest) & 0xff;
  return ((outer.bytes[whole] ?? 0) & mask) === ((inner.bytes[whole] ?? 0) & mask);
}

/** Loc-RIB listing: one prefix, the prefixes inside one, or everything, sorted, up to `limit`. */
export function routesView(rr: Reflector, prefixText: string, longer: boolean, limit: number): ListRoutesResponse {
  const max = limit > 0 ? limit : 1000;
  let filter: Prefix | undefined;
  if (prefixText) {
    try {
      filter = parsePrefix(prefixText);
    } catch (err) {
      throw new InvalidArgumentError(`prefix: ${(err as Error).message.replace(/^prefix: /, '')}`, { field: 'prefix' });
    }
    if (!longer) {
      const d = rr.rib.lookup(filter);
      if (d === NONE || (rr.rib.bestRoute(d) === NONE && rr.rib.rankedRoutes(d).length === 0))
        return { prefixes: [], matched: 0, truncated: false };
      return { prefixes: [prefixRoutes(rr, d)], matched: 1, truncated: false };
    }
  }
  const rib = rr.rib;
  const matching: { d: number; p: Prefix }[] = [];
  for (let d = 0; d < rib.destLimit; d++) {
    if (!rib.destAfi(d) || rib.firstRoute(d) === NONE) continue;
    const p = rib.destPrefix(d);
    if (filter && !contains(filter, p)) continue;
    matching.push({ d, p });
  }
  matching.sort((x, y) => x.p.afi - y.p.afi || compareBytes(x.p.bytes, y.p.bytes) || x.p.length - y.p.length);
  return {
    prefixes: matching.slice(0, max).map((m) => prefixRoutes(rr, m.d)),
    matched: matching.length,
    truncated: matching.length > max,
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** RFC 9003 §2: at most 255 octets of UTF-8. */
export function checkShutdownMessage(message: string): string | undefined {
  if (Buffer.byteLength(message, 'utf8') > 255)
    throw new InvalidArgumentError(
      `message: ${Buffer.byteLength(message, 'utf8')} octets, RFC 9003 allows at most 255`,
      { field: 'message' },
    );
  return message || undefined;
}

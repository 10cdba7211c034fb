// Datastore mode: what the reflector should be, derived from Calico resources (pure).
//
// Identity: the reflector is a Node (`--node NAME`) with spec.bgp.routeReflectorClusterID, as in
// Calico. Router id = the node's IPv4 address, AS = node asNumber ?? BGPConfiguration asNumber ??
// 64512, port = listenPort of the node's own BGPConfiguration (`node.<name>`) ?? of `default` ??
// 179; bindMode likewise (NodeIP binds the node's address).
//
// Peers (confd's bgp_processor, for a node that is a reflector; a reflector skips the mesh):
//   a BGPPeer applies when its `node` is us, its `nodeSelector` matches our labels, or it has
//   neither (global). `peerIP` gives one peer; `peerSelector` gives every other matching Node
//   (IPv4 and IPv6 addresses). An iBGP peer is a client unless it is a Node with our cluster id.
//   Between two Nodes the one with the lexically greater address is passive (Calico's rule).
//   nextHopMode / keepOriginalNextHop, maxRestartTime → restart time, password (secretKeyRef,
//   resolved by the caller: config/password.ts) → TCP-MD5, ttlSecurity → GTSM. Peers from peerIP that are
//   not Calico nodes are "external": their routes are published as LearnedRoutes. A peer's
//   spec.filters name BGPFilters in the datastore, applied in order (a missing or unusable one
//   is a warning and skipped); routes no filter decides are imported (Calico's import), and only
//   our own (originated) routes are exported to eBGP peers, so nothing transits between switches.
//
// Origination: each confirmed host BlockAffinity → the block CIDR, next hop = the owning node's
// address of the block's family, when an enabled IPPool with BGP export contains it; communities
// from BGPConfiguration.prefixAdvertisements whose cidr contains the block. LOCAL_PREF carries
// Calico's normal route priority (2^31-1 - 1024), as confd's export filter does. Pool aggregates
// (each exportable pool's CIDR, next hop self) when asked for. Borrowed addresses: Calico IPAM
// records, for every address in use, the node using it (IPAMBlock attributes[].secondary.node);
// an address used by a node other than the block's owner gets its /32 (/128) with next hop = the
// node using it: more specific than the owner's block, as the borrowing node announces it in
// Calico (confd's calico_aggr accepts such more-specifics).

import {
  addressAt,
  cidrContains,
  durationMs,
  ipToString,
  parseSelector,
  splitPeerAddress,
  tryParseCidr,
  type BGPPeer,
  type Node,
} from '../../../shared/resources/index.js';
import { Origin, parsePrefix, type PathAttributes } from '../../../bgp/index.js';
import { parseBgpFilter, parseCommunity, type BgpFilter } from '../policy/filter.js';
import { PRIORITY_BASE } from '../policy/filter.js';
import {
  DEFAULT_GRACEFUL_RESTART,
  type GracefulRestartSettings,
  type PeerSettings,
  type ReflectorSettings,
} from '../config/types.js';
import type { OriginatedRoute } from '../reflector/static-routes.js';
import type { NextHopMode } from '../export/rules.js';
import type { ClusterModel } from './model.js';

/** Calico's default AS (BGPConfiguration asNumber default). */
export const CALICO_DEFAULT_AS = 64512;
/** FelixConfiguration ipv4NormalRoutePriority default: the route priority of a node's blocks. */
export const NORMAL_ROUTE_PRIORITY = 1024;

export interface DeriveOptions {
  readonly gracefulRestart?: GracefulRestartSettings;
  /** Also originate each exportable IPPool's CIDR (next hop self). */
  readonly poolAggregates?: boolean;
  /** Reads a BGPPeer password's secretKeyRef; without one, a peer with a password stays down. */
  readonly resolveSecret?: (ref: { name: string; key: string }) => { key: Buffer } | { error: string };
}

export interface DerivedConfig {
  readonly settings: ReflectorSettings;
  readonly peers: readonly PeerSettings[];
  /** Keyed by canonical prefix text. */
  readonly routes: ReadonlyMap<string, OriginatedRoute>;
  /** Peer addresses whose routes are published as LearnedRoutes. */
  readonly external: ReadonlySet<string>;
  /** Things an operator should know (unresolvable filters, nodes without addresses, ...). */
  readonly warnings: readonly string[];
}

export type DeriveResult = { ok: true; config: DerivedConfig } | { ok: false; reason: string };

function hostOf(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  const i = addr.indexOf('/');
  return i < 0 ? addr : addr.slice(0, i);
}

function nodeAs(n: Node, globalAs: number): number {
  return n.spec.bgp?.asNumber ?? globalAs;
}

function nextHopModeOf(p: BGPPeer): NextHopMode {
  if (p.spec.keepOriginalNextHop) return 'keep';
  switch (p.spec.nextHopMode) {
    case 'Self':
      return 'self';
    case 'Keep':
      return 'keep';
    default:
      return 'auto';
  }
}

function selectorMatches(
  text: string,
  labels: Record<string, string> | undefined,
  warnings: string[],
  field: string,
): boolean {
  try {
    return parseSelector(text).matches(labels ?? {});
  } catch (err) {
    warnings.push(`${field}: ${(err as Error).message}`);
    return false;
  }
}

/** The reflector's own Node and what follows from it: AS, router id, cluster id, listen address. */
interface Identity {
  readonly me: Node;
  readonly settings: ReflectorSettings;
  /** The node's IPv6 address, if it has one (our address towards IPv6 peers). */
  readonly myV6: string | undefined;
  /** BGPConfiguration `default` asNumber ?? Calico's default: the AS of Nodes without their own. */
  readonly globalAs: number;
}

/** Where a node's BGP listens: its own `node.<name>` BGPConfiguration, then `default`, then 179. */
function listenPortOf(model: ClusterModel, name: string): number {
  return model.configs.get(`node.${name}`)?.spec.listenPort ?? model.globalConfig?.spec.listenPort ?? 179;
}

export function deriveConfig(model: ClusterModel, nodeName: string, options: DeriveOptions = {}): DeriveResult {
  const warnings: string[] = [];
  const identity = deriveIdentity(model, nodeName, options, warnings);
  if (!identity.ok) return identity;
  const { peers, external } = derivePeers(model, identity.identity, options, warnings);
  const routes = deriveRoutes(model, options, warnings);
  return { ok: true, config: { settings: identity.identity.settings, peers, routes, external, warnings } };
}

function deriveIdentity(
  model: ClusterModel,
  nodeName: string,
  options: DeriveOptions,
  warnings: string[],
): { ok: true; identity: Identity } | { ok: false; reason: string } {
  const me = model.nodes.get(nodeName);
  if (!me) return { ok: false, reason: `Node ${nodeName} is not in the datastore` };
  const bgp = me.spec.bgp;
  const routerId = hostOf(bgp?.ipv4Address);
  if (!routerId)
    return { ok: false, reason: `Node ${nodeName} has no spec.bgp.ipv4Address (the reflector's router id)` };
  const myV6 = hostOf(bgp?.ipv6Address);
  const cfg = model.globalConfig?.spec;
  const globalAs = cfg?.asNumber ?? CALICO_DEFAULT_AS;
  const asNumber = bgp?.asNumber ?? globalAs;
  const clusterId = bgp?.routeReflectorClusterID ?? routerId;
  if (!bgp?.routeReflectorClusterID)
    warnings.push(`Node ${nodeName} has no spec.bgp.routeReflectorClusterID: reflecting with cluster id ${routerId}`);
  const own = model.configs.get(`node.${nodeName}`)?.spec;
  const port = listenPortOf(model, nodeName);
  const listenAddress = (own?.bindMode ?? cfg?.bindMode) === 'NodeIP' ? routerId : myV6 ? '::' : '0.0.0.0';
  const settings: ReflectorSettings = {
    asNumber,
    routerId,
    clusterId,
    listen: { address: listenAddress, port },
    holdTime: 90,
    alwaysCompareMed: false,
    gracefulRestart: options.gracefulRestart ?? DEFAULT_GRACEFUL_RESTART,
    maxPrefixRestartTime: 60,
  };
  return { ok: true, identity: { me, settings, myV6, globalAs } };
}

/** The sessions: which BGPPeers apply to us and the peers each gives (see the top of the file). */
function derivePeers(
  model: ClusterModel,
  identity: Identity,
  options: DeriveOptions,
  warnings: string[],
): { peers: PeerSettings[]; external: Set<string> } {
  const { me, myV6, globalAs } = identity;
  const { routerId, clusterId, asNumber } = identity.settings;
  const nodeName = me.metadata.name;
  const bgp = me.spec.bgp;
  const nodeByAddress = new Map<string, Node>();
  for (const n of model.nodes.values()) {
    for (const a of [hostOf(n.spec.bgp?.ipv4Address), hostOf(n.spec.bgp?.ipv6Address)]) if (a) nodeByAddress.set(a, n);
  }
  const peers = new Map<string, PeerSettings>();
  const external = new Set<string>();
  /** The peer's spec.filters, in order, compiled from the datastore's BGPFilters (Calico's rule). */
  const compiled = new Map<string, BgpFilter | string>();
  const filtersOf = (p: BGPPeer): BgpFilter[] => {
    const out: BgpFilter[] = [];
    for (const name of p.spec.filters ?? []) {
      let f = compiled.get(name);
      if (f === undefined) {
        const resource = model.filters.get(name);
        try {
          f = resource
            ? parseBgpFilter(name, resource.spec, `BGPFilter ${name} spec`)
            : `BGPFilter ${name} does not exist`;
        } catch (err) {
          f = (err as Error).message;
        }
        compiled.set(name, f);
      }
      if (typeof f === 'string') warnings.push(`BGPPeer ${p.metadata.name}: filter ${name} ignored: ${f}`);
      else out.push(f);
    }
    return out;
  };
  const add = (p: BGPPeer, address: string, asn: number, peerNode: Node | undefined, port?: number): void => {
    if (address === routerId || address === myV6) return;
    if (peers.has(address)) {
      warnings.push(`BGPPeer ${p.metadata.name}: ${address} is already a peer from another BGPPeer; ignored`);
      return;
    }
    const sameCluster =
      peerNode?.spec.bgp?.routeReflectorClusterID === clusterId && bgp?.routeReflectorClusterID !== undefined;
    const mine = address.includes(':') ? myV6 : routerId;
    const filters = filtersOf(p);
    const ref = p.spec.password?.secretKeyRef;
    const tcpMd5 = ref
      ? (options.resolveSecret?.(ref) ?? {
          error: `secret ${ref.name} key ${ref.key}: no secrets directory configured`,
        })
      : undefined;
    if (tcpMd5 && 'error' in tcpMd5)
      warnings.push(`BGPPeer ${p.metadata.name}: ${address} stays down: TCP-MD5 key unavailable: ${tcpMd5.error}`);
    const restart = p.spec.maxRestartTime
      ? Math.min(4095, Math.round(durationMs(p.spec.maxRestartTime) / 1000))
      : undefined;
    peers.set(address, {
      address,
      asNumber: asn,
      rrClient: asn === asNumber && !sameCluster,
      passive: peerNode !== undefined && mine !== undefined && mine > address,
      port: port ?? 179,
      ...(mine && p.spec.sourceAddress !== 'None' ? { localAddress: mine } : {}),
      nextHopMode: nextHopModeOf(p),
      filters,
      addPaths: 'both',
      families: address.includes(':') ? ['ipv6-unicast'] : ['ipv4-unicast', 'ipv6-unicast'],
      ...(restart !== undefined ? { restartTime: restart } : {}),
      description: `BGPPeer ${p.metadata.name}`,
      acceptImportByDefault: true,
      ...(tcpMd5 ? { tcpMd5 } : {}),
      ...(p.spec.ttlSecurity ? { ttlSecurity: p.spec.ttlSecurity } : {}),
    });
    if (!peerNode) external.add(address);
  };
  for (const p of [...model.peers.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const s = p.spec;
    const applies = s.node
      ? s.node === nodeName
      : s.nodeSelector
        ? selectorMatches(s.nodeSelector, me.metadata.labels, warnings, `BGPPeer ${p.metadata.name} nodeSelector`)
        : true;
    if (!applies) continue;
    if (s.peerIP) {
      const { ip, port } = splitPeerAddress(s.peerIP);
      const n = nodeByAddress.get(ip);
      add(
        p,
        ip,
        s.asNumber ?? (n ? nodeAs(n, globalAs) : asNumber),
        n,
        port ?? (n ? listenPortOf(model, n.metadata.name) : undefined),
      );
    } else if (s.peerSelector) {
      const sel = s.peerSelector;
      for (const n of [...model.nodes.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
        if (n.metadata.name === nodeName) continue;
        if (!selectorMatches(sel, n.metadata.labels, warnings, `BGPPeer ${p.metadata.name} peerSelector`)) continue;
        const v4 = hostOf(n.spec.bgp?.ipv4Address);
        const v6 = hostOf(n.spec.bgp?.ipv6Address);
        if (!v4 && !v6) warnings.push(`BGPPeer ${p.metadata.name}: Node ${n.metadata.name} has no BGP address`);
        if (v4) add(p, v4, nodeAs(n, globalAs), n, listenPortOf(model, n.metadata.name));
        if (v6) add(p, v6, nodeAs(n, globalAs), n, listenPortOf(model, n.metadata.name));
      }
    }
  }
  return { peers: [...peers.values()], external };
}

/** The routes we originate: node blocks, borrowed addresses, pool aggregates (see the top of the file). */
function deriveRoutes(model: ClusterModel, options: DeriveOptions, warnings: string[]): Map<string, OriginatedRoute> {
  const cfg = model.globalConfig?.spec;
  const communityByName = new Map((cfg?.communities ?? []).map((c) => [c.name, c.value]));
  const ads = (cfg?.prefixAdvertisements ?? []).map((a) => ({
    cidr: a.cidr,
    values: (a.communities ?? []).map((c) => communityByName.get(c) ?? c),
  }));
  const exportable = [...model.pools.values()].filter((p) => !p.spec.disabled && !p.spec.disableBGPExport);
  const routes = new Map<string, OriginatedRoute>();
  const attrsFor = (cidr: string): PathAttributes => {
    const communities: number[] = [];
    const large: { globalAdmin: number; localData1: number; localData2: number }[] = [];
    for (const a of ads) {
      if (!cidrContains(a.cidr, cidr)) continue;
      for (const v of a.values) {
        const c = parseCommunity(v, `BGPConfiguration.prefixAdvertisements(${a.cidr})`);
        if (c.kind === 'standard') {
          if (!communities.includes(c.value)) communities.push(c.value);
        } else if (
          !large.some(
            (l) =>
              l.globalAdmin === c.value.globalAdmin &&
              l.localData1 === c.value.localData1 &&
              l.localData2 === c.value.localData2,
          )
        ) {
          large.push(c.value);
        }
      }
    }
    return {
      origin: Origin.Igp,
      asPath: [],
      atomicAggregate: false,
      unknown: [],
      localPref: PRIORITY_BASE - NORMAL_ROUTE_PRIORITY,
      ...(communities.length ? { communities } : {}),
      ...(large.length ? { largeCommunities: large } : {}),
    };
  };
  for (const a of model.affinities.values()) {
    const s = a.spec;
    if (s.state !== 'confirmed' || s.deleted || (s.type ?? 'host') !== 'host') continue;
    const node = model.nodes.get(s.node);
    if (!node) continue;
    const block = tryParseCidr(s.cidr);
    if (typeof block === 'string') continue;
    if (!exportable.some((p) => cidrContains(p.spec.cidr, block))) continue;
    const nh = hostOf(block.family === 4 ? node.spec.bgp?.ipv4Address : node.spec.bgp?.ipv6Address);
    if (!nh) {
      warnings.push(
        `BlockAffinity ${a.metadata.name}: Node ${s.node} has no IPv${block.family} BGP address for ${block.text}`,
      );
      continue;
    }
    routes.set(block.text, { prefix: parsePrefix(block.text), nextHop: nh, attrs: attrsFor(block.text) });
  }
  for (const b of model.blocks.values()) {
    const s = b.spec;
    const owner = s.affinity?.startsWith('host:') ? s.affinity.slice('host:'.length) : undefined;
    // Most blocks lend nothing: skip them without walking their allocations.
    if (s.deleted || !s.attributes.some((a) => a.secondary?.node !== undefined && a.secondary.node !== owner)) continue;
    const block = tryParseCidr(s.cidr);
    if (typeof block === 'string' || !exportable.some((p) => cidrContains(p.spec.cidr, block))) continue;
    const hostBits = block.family === 4 ? 32 : 128;
    s.allocations.forEach((index, ordinal) => {
      const user = index === null ? undefined : s.attributes[index]?.secondary?.node;
      if (user === undefined || user === owner) return;
      const prefix = `${ipToString(addressAt(block, ordinal))}/${hostBits}`;
      const node = model.nodes.get(user);
      const nh = hostOf(block.family === 4 ? node?.spec.bgp?.ipv4Address : node?.spec.bgp?.ipv6Address);
      if (!nh) {
        warnings.push(
          `IPAMBlock ${b.metadata.name}: ${prefix} is used by ${node ? `Node ${user}, which has no IPv${block.family} BGP address` : `Node ${user}, which does not exist`}`,
        );
        return;
      }
      if (!routes.has(prefix))
        routes.set(prefix, { prefix: parsePrefix(prefix), nextHop: nh, attrs: attrsFor(prefix) });
    });
  }
  if (options.poolAggregates) {
    for (const p of exportable) {
      const c = tryParseCidr(p.spec.cidr);
      if (typeof c === 'string' || routes.has(c.text)) continue;
      routes.set(c.text, { prefix: parsePrefix(c.text), nextHop: '', attrs: attrsFor(c.text) });
    }
  }
  return routes;
}

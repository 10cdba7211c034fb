// Test lab for the reflector: in-process reflectors inside a network namespace the test creates,
// and BIRD configurations for clients, switches and injectors (real daemons, real TCP).

import { execFileSync } from 'node:child_process';
import { Reflector } from '../reflector/reflector.js';
import { staticRouteToOriginated } from '../reflector/static-routes.js';
import {
  DEFAULT_GRACEFUL_RESTART,
  type PeerSettings,
  type ReflectorSettings,
  type StaticRoute,
} from '../config/types.js';
import type { Netns } from '../../../testing/index.js';
import { createLogger } from '../../../shared/log/index.js';

export { createNetns, netnsSkipReason, startBird, startGobgp, startFrr, poll } from '../../../testing/index.js';
export type { Netns, BirdHandle, GobgpHandle, FrrHandle } from '../../../testing/index.js';

/** Why BIRD interop tests cannot run here, or undefined. */
export function birdSkipReason(): string | undefined {
  try {
    execFileSync('bird', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'bird is not installed (Debian package bird2; infra/install.sh installs it)';
  }
  return undefined;
}

export function reflectorSettings(routerId: string, extra: Partial<ReflectorSettings> = {}): ReflectorSettings {
  return {
    asNumber: 65000,
    routerId,
    clusterId: routerId,
    listen: { address: routerId, port: 179 },
    holdTime: 30,
    alwaysCompareMed: false,
    gracefulRestart: DEFAULT_GRACEFUL_RESTART,
    maxPrefixRestartTime: 60,
    ...extra,
  };
}

export function peer(address: string, extra: Partial<PeerSettings> = {}): PeerSettings {
  return {
    address,
    asNumber: 65000,
    rrClient: true,
    passive: false,
    port: 179,
    nextHopMode: 'auto',
    filters: [],
    addPaths: 'off',
    families: ['ipv4-unicast', 'ipv6-unicast'],
    ...extra,
  };
}

/** A reflector in this process whose sockets live in `ns`. */
export async function startReflector(
  ns: Netns,
  settings: ReflectorSettings,
  peers: readonly PeerSettings[],
  routes: readonly StaticRoute[] = [],
): Promise<Reflector> {
  const rr = new Reflector({
    settings,
    transport: await ns.transport(),
    logger: createLogger('rr-test', { rr: settings.routerId }),
  });
  await rr.setPeers(peers);
  for (const r of routes) {
    const o = staticRouteToOriginated(r);
    rr.originate(o.prefix, o.attrs, o.nextHop);
  }
  rr.confirmOriginated();
  await rr.start();
  return rr;
}

export interface BirdNeighbor {
  name: string;
  address: string;
  as: number;
  /** Extra statements inside the protocol, e.g. `rr client;`. */
  extra?: string;
  /** Channel statements for ipv4 (default import all; export all). */
  ipv4?: string;
}

/** A BIRD config: static blackhole routes (`statics`) and one bgp protocol per neighbour. */
export function birdConfig(o: {
  routerId: string;
  as: number;
  statics?: readonly string[];
  neighbors: readonly BirdNeighbor[];
  extra?: string;
}): string {
  const v4 = (o.statics ?? []).filter((p) => !p.includes(':'));
  const v6 = (o.statics ?? []).filter((p) => p.includes(':'));
  return [
    `router id ${o.routerId};`,
    'protocol device {}',
    `protocol static s4 { ipv4; ${v4.map((p) => `route ${p} blackhole;`).join(' ')} }`,
    `protocol static s6 { ipv6; ${v6.map((p) => `route ${p} blackhole;`).join(' ')} }`,
    `template bgp peers { local ${o.routerId} as ${o.as}; multihop; strict bind; connect delay time 1; connect retry time 1; error wait time 1, 2; graceful restart on; }`,
    ...o.neighbors.map(
      (n) =>
        `protocol bgp ${n.name} from peers { neighbor ${n.address} as ${n.as}; ${n.extra ?? ''} ipv4 { ${n.ipv4 ?? 'import all; export all;'} }; ipv6 { import all; export all; }; }`,
    ),
    o.extra ?? '',
  ].join('\n');
}

/** A GoBGP config: one iBGP (AS 65000) IPv4 unicast neighbour, the reflector at `rr`. */
export function gobgpClientConfig(o: { address: string; rr: string; gracefulRestart?: boolean }): string {
  const gr = o.gracefulRestart
    ? `  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
`
    : '';
  const mpGr = o.gracefulRestart
    ? `    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`
    : '';
  return `[global.config]
  as = 65000
  router-id = "${o.address}"
  port = 179
  local-address-list = ["${o.address}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${o.rr}"
    peer-as = 65000
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.transport.config]
    local-address = "${o.address}"
${gr}  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
${mpGr}`;
}

/** `count` distinct /26 prefixes from 10.<base>.0.0 upwards. */
export function blocks(count: number, base = 100): string[] {
  return Array.from({ length: count }, (_, i) => `10.${base + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`);
}

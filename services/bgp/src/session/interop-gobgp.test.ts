// Interop with GoBGP (the Debian gobgpd package): see testing/interop-suite.ts for the scenario.
import { execFileSync } from 'node:child_process';
import {
  GOBGPD_BIN,
  interopSuite,
  startGobgp,
  type DaemonAdapter,
  type DaemonRoute,
  type GobgpHandle,
  type InteropNeighbor,
} from '../../../testing/index.js';

let gobgp: GobgpHandle | undefined;

function available(): string | undefined {
  try {
    execFileSync(GOBGPD_BIN, ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return `${GOBGPD_BIN} is not installed (Debian package gobgpd; infra/install.sh installs it)`;
  }
}

function asPathOf(attrs: Map<number, Record<string, unknown>>): number[] {
  const segments = (attrs.get(2)?.as_paths ?? []) as { asns?: number[] }[];
  return segments.flatMap((s) => s.asns ?? []);
}

const adapter: DaemonAdapter = {
  name: 'GoBGP',
  skipReason: available,
  async start(ns, plan) {
    const neighbor = (n: InteropNeighbor): string => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.ours}"
    peer-as = ${n.ourAs}
  [neighbors.timers.config]
    hold-time = ${n.holdTime}
    keepalive-interval = ${Math.floor(n.holdTime / 3)}
    connect-retry = 1
  [neighbors.transport.config]
    local-address = "${n.local}"
  [neighbors.ebgp-multihop.config]
    enabled = true
    multihop-ttl = 2
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${n.family}-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`;
    const config = `[global.config]
  as = ${plan.as}
  router-id = "${plan.routerId}"
  port = 179
  local-address-list = ["${plan.v4}", "${plan.v6}"]
${plan.neighbors.map(neighbor).join('')}`;
    gobgp = await startGobgp({ netns: ns, address: plan.v4, config });
    const attrs = ['origin', 'igp', 'med', '50', 'community', '65001:1', 'large-community', '65001:2:3'];
    await gobgp.addRoute(plan.originate.ipv4, ['nexthop', plan.v4, ...attrs], 'ipv4');
    await gobgp.addRoute(plan.originate.ipv6, ['nexthop', plan.v6, ...attrs], 'ipv6');
  },
  async waitEstablished(n, timeoutMs) {
    await gobgp!.waitForState(n.ours, 'established', timeoutMs);
  },
  async isEstablished(n) {
    return (await gobgp!.neighbor(n.ours))?.state === 'established';
  },
  async routes(n): Promise<DaemonRoute[]> {
    const paths = await gobgp!.rib(n.family);
    return paths
      .filter((p) => p.raw['neighbor-ip'] === n.ours || p.raw.neighbor_ip === n.ours)
      .map((p) => {
        const med = p.attrs.get(4)?.metric;
        const communities = (p.attrs.get(8)?.communities ?? []) as number[];
        const large = (p.attrs.get(32)?.value ?? []) as { ASN: number; LocalData1: number; LocalData2: number }[];
        return {
          prefix: p.prefix,
          asPath: asPathOf(p.attrs),
          med: typeof med === 'number' ? med : undefined,
          communities: communities.map((c) => `${Math.floor(c / 65536)}:${c % 65536}`),
          largeCommunities: large.map((l) => `${l.ASN}:${l.LocalData1}:${l.LocalData2}`),
          stale: p.stale,
        };
      });
  },
  // GoBGP 3 handles a NOTIFICATION received in OpenSent/OpenConfirm as an invalid message: it is
  // counted in the neighbor's message statistics, the code is neither logged nor kept.
  describesOpenErrors: false,
  async receivedNotifications(n) {
    const state = ((await gobgp!.neighbor(n.ours))?.raw.state ?? {}) as {
      messages?: { received?: { notification?: number } };
    };
    return { lines: [], count: state.messages?.received?.notification ?? 0 };
  },
  async requestRefresh() {
    // `gobgp neighbor X softresetin` replays GoBGP's own Adj-RIB-In; it sends no ROUTE-REFRESH.
    return false;
  },
  diagnostics() {
    return gobgp?.process.logTail() ?? 'not started';
  },
  async stop() {
    await gobgp?.stop();
  },
};

interopSuite(adapter);

// Interop with FRR bgpd (the Debian frr package, without zebra): see testing/interop-suite.ts.
import { existsSync } from 'node:fs';
import {
  FRR_BGPD_BIN,
  interopSuite,
  startFrr,
  type DaemonAdapter,
  type DaemonRoute,
  type FrrHandle,
  type InteropNeighbor,
} from '../../../testing/index.js';

let frr: FrrHandle | undefined;

const afiOf = (n: InteropNeighbor): 'ipv4' | 'ipv6' => n.family;

const adapter: DaemonAdapter = {
  name: 'FRR bgpd',
  skipReason: () =>
    existsSync(FRR_BGPD_BIN)
      ? undefined
      : `${FRR_BGPD_BIN} is not installed (Debian package frr; infra/install.sh installs it)`,
  async start(ns, plan) {
    const lines = [
      'frr defaults traditional',
      'hostname meshless-interop',
      // Route-maps before `router bgp`: a `network ... route-map` naming a later one is ignored.
      'route-map ORIGINATE permit 10',
      ' set metric 50',
      ' set community 65001:1',
      ' set large-community 65001:2:3',
      'exit',
      `router bgp ${plan.as}`,
      ` bgp router-id ${plan.routerId}`,
      ' bgp log-neighbor-changes',
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' no bgp network import-check',
      ...plan.neighbors.flatMap((n) => [
        ` neighbor ${n.ours} remote-as ${n.ourAs}`,
        ` neighbor ${n.ours} update-source ${n.local}`,
        ` neighbor ${n.ours} disable-connected-check`,
        ` neighbor ${n.ours} timers ${Math.floor(n.holdTime / 3)} ${n.holdTime}`,
        ` neighbor ${n.ours} timers connect 1`,
        ` neighbor ${n.ours} advertisement-interval 0`,
      ]),
      ' address-family ipv4 unicast',
      `  network ${plan.originate.ipv4} route-map ORIGINATE`,
      ...plan.neighbors.filter((n) => n.family === 'ipv4').map((n) => `  neighbor ${n.ours} activate`),
      ' exit-address-family',
      ' address-family ipv6 unicast',
      `  network ${plan.originate.ipv6} route-map ORIGINATE`,
      ...plan.neighbors.filter((n) => n.family === 'ipv6').map((n) => `  neighbor ${n.ours} activate`),
      ' exit-address-family',
      'exit',
    ];
    frr = await startFrr({ netns: ns, address: plan.v4, alsoListenOn: [plan.v6], config: lines.join('\n') });
  },
  async waitEstablished(n, timeoutMs) {
    await frr!.waitForState(n.ours, 'Established', timeoutMs);
  },
  async isEstablished(n) {
    return (await frr!.neighbor(n.ours))?.state === 'Established';
  },
  async routes(n): Promise<DaemonRoute[]> {
    const out: DaemonRoute[] = [];
    for (const prefix of (await frr!.prefixes(afiOf(n))).keys()) {
      for (const p of await frr!.route(prefix, afiOf(n))) {
        const peer = (p.raw.peer ?? {}) as { peerId?: string };
        if (peer.peerId !== n.ours) continue;
        out.push({
          prefix,
          asPath: p.asPath.split(/\s+/).filter(Boolean).map(Number),
          med: p.med,
          communities: p.communities,
          largeCommunities: p.largeCommunities,
          stale: p.stale,
        });
      }
    }
    return out;
  },
  describesOpenErrors: true,
  async receivedNotifications(n) {
    // FRR keeps only the latest reset reason, which later reconnect attempts overwrite; its log
    // (bgp log-neighbor-changes) has every NOTIFICATION it received.
    const lines = frr!.process
      .readLog()
      .split('\n')
      .filter((l) => l.includes(`NOTIFICATION: received from neighbor ${n.ours} `));
    const stats = ((await frr!.neighbor(n.ours))?.raw.messageStats ?? {}) as { notificationsRecv?: number };
    return { lines, count: stats.notificationsRecv };
  },
  async requestRefresh(n) {
    await frr!.vtysh(`clear bgp ${afiOf(n)} unicast ${n.ours} soft in`);
    return true;
  },
  diagnostics() {
    return frr?.process.logTail() ?? 'not started';
  },
  async stop() {
    await frr?.stop();
  },
};

interopSuite(adapter);

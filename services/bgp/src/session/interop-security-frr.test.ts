// TCP-MD5 and GTSM with FRR bgpd (`neighbor X password`, `neighbor X ttl-security hops 1`; the
// low-TTL peer is `ebgp-multihop 2`): see testing/security-suite.ts.
import { existsSync } from 'node:fs';
import { FRR_BGPD_BIN, securitySuite, startFrr, type FrrHandle, type SecurityAdapter } from '../../../testing/index.js';

let frr: FrrHandle | undefined;

const adapter: SecurityAdapter = {
  name: 'FRR bgpd',
  skipReason: () =>
    existsSync(FRR_BGPD_BIN)
      ? undefined
      : `${FRR_BGPD_BIN} is not installed (Debian package frr; infra/install.sh installs it)`,
  async start(ns, plan) {
    const lines = [
      'frr defaults traditional',
      'hostname meshless-security',
      `router bgp ${plan.as}`,
      ` bgp router-id ${plan.routerId}`,
      ' bgp log-neighbor-changes',
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ...plan.neighbors.flatMap((n) => [
        ` neighbor ${n.ours} remote-as ${n.ourAs}`,
        ` neighbor ${n.ours} update-source ${n.local}`,
        ` neighbor ${n.ours} disable-connected-check`,
        ` neighbor ${n.ours} timers 3 9`,
        ` neighbor ${n.ours} timers connect 1`,
        ...(n.password ? [` neighbor ${n.ours} password ${n.password}`] : []),
        ...(n.ttl === 'on'
          ? [` neighbor ${n.ours} ttl-security hops 1`]
          : n.ttl === 'low'
            ? [` neighbor ${n.ours} ebgp-multihop 2`]
            : []),
      ]),
      ' address-family ipv4 unicast',
      ...plan.neighbors.filter((n) => n.family === 'ipv4').map((n) => `  neighbor ${n.ours} activate`),
      ' exit-address-family',
      ' address-family ipv6 unicast',
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
  diagnostics() {
    return frr?.process.logTail() ?? 'not started';
  },
  async stop() {
    await frr?.stop();
  },
};

securitySuite(adapter);

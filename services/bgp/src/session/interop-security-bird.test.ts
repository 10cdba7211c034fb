// TCP-MD5 and GTSM with BIRD 2 (`password`, `ttl security`): see testing/security-suite.ts.
import { execFileSync } from 'node:child_process';
import { securitySuite, startBird, type BirdHandle, type SecurityAdapter } from '../../../testing/index.js';

let bird: BirdHandle | undefined;

const adapter: SecurityAdapter = {
  name: 'BIRD 2',
  skipReason() {
    try {
      execFileSync('bird', ['--version'], { stdio: 'pipe' });
      return undefined;
    } catch {
      return 'bird is not installed (Debian package bird2; infra/install.sh installs it)';
    }
  },
  async start(ns, plan) {
    const lines = [
      `router id ${plan.routerId};`,
      'protocol device {}',
      ...plan.neighbors.map((n) => {
        // `multihop 1`: the /32 loopback addresses share no interface prefix, so BIRD would wait
        // for a direct neighbor; with GTSM it sends TTL 255 and wants 256 - 1. `low`: TTL 2.
        const ttl =
          n.ttl === 'on'
            ? 'multihop 1; ttl security on;'
            : n.ttl === 'low'
              ? 'multihop 2; ttl security off;'
              : 'multihop;';
        const password = n.password ? `password "${n.password}";` : '';
        return `protocol bgp ${n.name} { local ${n.local} as ${plan.as}; neighbor ${n.ours} as ${n.ourAs}; strict bind; ${ttl} ${password} hold time 9; connect delay time 1; connect retry time 1; error wait time 1, 2; ${n.family} { import all; export none; }; }`;
      }),
    ];
    bird = await startBird({ netns: ns, address: plan.v4, config: lines.join('\n') });
  },
  async waitEstablished(n, timeoutMs) {
    await bird!.waitForState(n.name, 'Established', timeoutMs);
  },
  async isEstablished(n) {
    return (await bird!.protocol(n.name)).bgpState === 'Established';
  },
  diagnostics() {
    return bird?.process.logTail() ?? 'not started';
  },
  async stop() {
    await bird?.stop();
  },
};

securitySuite(adapter);

// Interop with BIRD 2 (the Debian bird2 package): see testing/interop-suite.ts for the scenario.
import { execFileSync } from 'node:child_process';
import {
  interopSuite,
  startBird,
  type BirdHandle,
  type DaemonAdapter,
  type DaemonRoute,
  type InteropNeighbor,
} from '../../../testing/index.js';

function birdAvailable(): string | undefined {
  try {
    execFileSync('bird', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'bird is not installed (Debian package bird2; infra/install.sh installs it)';
  }
}

function parseAsPath(text: string | undefined): number[] {
  return (text ?? '').split(/\s+/).filter(Boolean).map(Number);
}

let bird: BirdHandle | undefined;

const adapter: DaemonAdapter = {
  name: 'BIRD 2',
  skipReason: birdAvailable,
  async start(ns, plan) {
    const lines = [
      `router id ${plan.routerId};`,
      'protocol device {}',
      `protocol static s4 { ipv4; route ${plan.originate.ipv4} blackhole { bgp_community.add((65001,1)); bgp_large_community.add((65001,2,3)); }; }`,
      `protocol static s6 { ipv6; route ${plan.originate.ipv6} blackhole { bgp_community.add((65001,1)); bgp_large_community.add((65001,2,3)); }; }`,
      // BIRD sends MED to another AS only when the export filter sets it.
      'filter to_us { if proto = "s4" || proto = "s6" then bgp_med = 50; accept; }',
      // strict bind: our speakers listen on their own addresses, port 179, in the same namespace.
      `template bgp peers { local as ${plan.as}; multihop; strict bind; connect delay time 1; connect retry time 1; error wait time 1, 2; graceful restart on; }`,
      ...plan.neighbors.map(
        (n) =>
          `protocol bgp ${n.name} from peers { local ${n.local} as ${plan.as}; neighbor ${n.ours} as ${n.ourAs}; hold time ${n.holdTime}; ${n.family} { import all; export filter to_us; }; }`,
      ),
    ];
    bird = await startBird({ netns: ns, address: plan.v4, config: lines.join('\n') });
  },
  async waitEstablished(n, timeoutMs) {
    await bird!.waitForState(n.name, 'Established', timeoutMs);
  },
  async isEstablished(n) {
    return (await bird!.protocol(n.name)).bgpState === 'Established';
  },
  async routes(n: InteropNeighbor): Promise<DaemonRoute[]> {
    return (await bird!.routes({ protocol: n.name })).map((r) => ({
      prefix: r.prefix,
      asPath: parseAsPath(r.attributes['BGP.as_path']),
      med: r.attributes['BGP.med'] === undefined ? undefined : Number(r.attributes['BGP.med']),
      communities: [...(r.attributes['BGP.community'] ?? '').matchAll(/\((\d+),(\d+)\)/g)].map(
        (m) => `${m[1]}:${m[2]}`,
      ),
      largeCommunities: [...(r.attributes['BGP.large_community'] ?? '').matchAll(/\((\d+), (\d+), (\d+)\)/g)].map(
        (m) => `${m[1]}:${m[2]}:${m[3]}`,
      ),
      stale: undefined,
    }));
  },
  describesOpenErrors: true,
  async receivedNotifications(n) {
    const last = (await bird!.protocol(n.name)).lastError;
    return { lines: last?.startsWith('Received:') ? [last] : [], count: undefined };
  },
  async requestRefresh(n) {
    await bird!.birdc(`reload in ${n.name}`);
    return true;
  },
  diagnostics() {
    return bird?.process.logTail() ?? 'not started';
  },
  async stop() {
    await bird?.stop();
  },
};

interopSuite(adapter);

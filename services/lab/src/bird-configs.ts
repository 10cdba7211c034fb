// BIRD 2 configurations of the end-to-end topology.
//
// The switch (ToR) learns routes by eBGP and installs them in its kernel (`protocol kernel`,
// export all), so it really forwards. Timers are short so a peer that restarts is back in about
// a second: `connect delay time 1` (default 5 s), `error wait time 1,5` (default 60-300 s, during
// which BIRD refuses the peer), `connect retry time 1` (default 120 s). Graceful restart on: the
// switch keeps a restarting peer's routes (stale) until it is back.
//
// A Calico-classic node (the reference set-up) runs BIRD too: it announces its blocks (a static
// blackhole per block; the kernel route itself is the dataplane's) and the /32 of every workload
// address outside its blocks (a borrowed address), learned from the kernel routes the dataplane
// programmed, the way Calico's BIRD configuration does (`learn` + a filter on the IP pool that
// rejects more-specifics of the node's own blocks). It imports nothing: the node's default route
// points at the switch, as in the Meshless run, so both set-ups forward identically.

export interface SwitchPeer {
  readonly address: string;
  readonly asNumber: number;
}

export const SWITCH_AS = 65000;
export const CLUSTER_AS = 64512;

const protocolName = (address: string): string => `peer_${address.replace(/[.:]/g, '_')}`;
export { protocolName as switchProtocolName };

const TIMERS = 'connect delay time 1; connect retry time 1; error wait time 1, 5; hold time 9; keepalive time 3;';

export function switchConfig(routerId: string, peers: readonly SwitchPeer[]): string {
  const sessions = peers.map(
    (p) => `protocol bgp ${protocolName(p.address)} {
  local ${routerId} as ${SWITCH_AS};
  neighbor ${p.address} as ${p.asNumber};
  ${TIMERS}
  graceful restart on;
  ipv4 { import all; export none; };
}`,
  );
  return `router id ${routerId};
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
${sessions.join('\n')}
`;
}

export function calicoNodeConfig(options: {
  routerId: string;
  switchAddress: string;
  blocks: readonly string[];
  pool: string;
}): string {
  const blocks = options.blocks.map((b) => `  route ${b} blackhole;`).join('\n');
  const own = options.blocks.length > 0 ? ` && !(net ~ [ ${options.blocks.map((b) => `${b}+`).join(', ')} ])` : '';
  return `router id ${options.routerId};
protocol device { scan time 10; }
protocol kernel { ipv4 { import all; export none; }; learn; scan time 10; }
protocol static blocks {
  ipv4;
${blocks}
}
filter to_switch {
  if proto = "blocks" then accept;
  if net.len = 32 && net ~ [ ${options.pool}+ ]${own} then accept;
  reject;
}
protocol bgp tor {
  local ${options.routerId} as ${CLUSTER_AS};
  neighbor ${options.switchAddress} as ${SWITCH_AS};
  ${TIMERS}
  graceful restart on;
  ipv4 { import none; export filter to_switch; };
}
`;
}

// Captures golden vectors: real BIRD 2, FRR bgpd and GoBGP peer with a minimal listener (not our
// speaker: a plain TCP socket that answers OPEN with OPEN + KEEPALIVE, keeps sending KEEPALIVEs
// and records every octet it receives). Message sequence per session:
//
//   daemon ──OPEN──> listener ──OPEN, KEEPALIVE──> daemon
//   daemon ──KEEPALIVE, UPDATE*, End-of-RIB──> listener        (recorded)
//   listener ──ROUTE-REFRESH──> daemon ──BoRR?, UPDATE*, EoRR?──> listener   (IPv4 sessions)
//   daemon ──NOTIFICATION (Cease, shutdown communication)──> listener         (IPv4 sessions)
//
// Topology: two network namespaces joined by a veth pair (so IPv6 sessions are directly connected
// and carry link-local next hops); the listener owns 198.18.0.1 / 2001:2::1 in one, the daemons
// 198.18.0.2-4 / 2001:2::2-4 in the other. All sessions are iBGP in AS 65000 so LOCAL_PREF is sent.
//
// Run as root:  node --import tsx services/bgp/src/codec/testdata/capture.ts
// Writes testdata/golden/{bird,frr,gobgp}/{ipv4,ipv6}.{recv,sent}.hex: one message per line.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server, Socket } from 'node:net';
import { promisify } from 'node:util';
import {
  Afi,
  CeaseSubcode,
  decodeMessage,
  encodeMessage,
  FrameReader,
  isEndOfRib,
  KEEPALIVE,
  MessageType,
  negotiate,
  RouteRefreshSubtype,
  Safi,
  shutdownNotification,
  type NegotiatedOptions,
  type OpenMessage,
} from '../index.js';
import { createNetns, startBird, startFrr, startGobgp, type Netns } from '../../../../testing/index.js';

const execFileAsync = promisify(execFile);
const OUT = join(import.meta.dirname, 'golden');
const AS = 65000;
const US4 = '198.18.0.1';
const US6 = '2001:2::1';
const PEERS = { bird: 2, frr: 3, gobgp: 4 } as const;
type Daemon = keyof typeof PEERS;

const ourOpen: OpenMessage = {
  type: MessageType.Open,
  version: 4,
  myAs: AS,
  holdTime: 90,
  bgpId: US4,
  capabilities: [
    { kind: 'MultiProtocol', afi: Afi.Ipv4, safi: Safi.Unicast },
    { kind: 'MultiProtocol', afi: Afi.Ipv6, safi: Safi.Unicast },
    { kind: 'RouteRefresh' },
    { kind: 'EnhancedRouteRefresh' },
    { kind: 'FourOctetAs', asn: AS },
    { kind: 'ExtendedMessage' },
    { kind: 'AddPath', afis: [{ afi: Afi.Ipv4, safi: Safi.Unicast, sendReceive: 1 }] },
    {
      kind: 'GracefulRestart',
      restartFlags: 0,
      restartTime: 120,
      afis: [
        { afi: Afi.Ipv4, safi: Safi.Unicast, forwardingState: true },
        { afi: Afi.Ipv6, safi: Safi.Unicast, forwardingState: true },
      ],
    },
  ],
};

interface Session {
  daemon: Daemon;
  family: 'ipv4' | 'ipv6';
  socket: Socket;
  received: Uint8Array[];
  sent: Uint8Array[];
  opts?: NegotiatedOptions;
  endOfRib: boolean;
  notified: boolean;
  refreshDone: boolean;
}

function hexLines(ms: Uint8Array[]): string {
  return ms.map((m) => Buffer.from(m).toString('hex')).join('\n') + '\n';
}

async function sh(cmd: string, args: string[]): Promise<void> {
  await execFileAsync(cmd, args);
}

async function link(a: Netns, b: Netns): Promise<void> {
  await sh('ip', ['link', 'add', 'vA', 'netns', a.name, 'type', 'veth', 'peer', 'name', 'vB', 'netns', b.name]);
  await sh('ip', ['-n', a.name, 'addr', 'add', `${US4}/24`, 'dev', 'vA']);
  await sh('ip', ['-n', a.name, '-6', 'addr', 'add', `${US6}/64`, 'dev', 'vA', 'nodad']);
  for (const n of Object.values(PEERS)) {
    await sh('ip', ['-n', b.name, 'addr', 'add', `198.18.0.${n}/24`, 'dev', 'vB']);
    await sh('ip', ['-n', b.name, '-6', 'addr', 'add', `2001:2::${n}/64`, 'dev', 'vB', 'nodad']);
  }
  await sh('ip', ['-n', a.name, 'link', 'set', 'vA', 'up']);
  await sh('ip', ['-n', b.name, 'link', 'set', 'vB', 'up']);
  // Wait for the link-local addresses to leave the tentative state.
  await new Promise((r) => setTimeout(r, 2500));
}

function birdConfig(): string {
  const n = PEERS.bird;
  const exp4 = `filter {
      if net = 10.10.0.0/24 then { bgp_med = 50; bgp_local_pref = 200; bgp_community.add((65000,100)); bgp_community.add((65000,200));
        bgp_large_community.add((65000,1,2)); bgp_ext_community.add((rt,65000,1)); }
      if net = 10.10.1.0/24 then { bgp_community.add((65535,65281)); bgp_origin = ORIGIN_INCOMPLETE; }
      accept; }`;
  const exp6 = `filter { bgp_med = 60; bgp_community.add((65000,600)); bgp_large_community.add((65000,6,6)); accept; }`;
  return `router id 198.18.0.${n};
protocol device {}
protocol static s4 { ipv4; route 10.10.0.0/24 blackhole; route 10.10.1.0/24 blackhole; route 10.10.2.0/23 blackhole; }
protocol static s6 { ipv6; route 2001:db8:10::/48 blackhole; route 2001:db8:11::/64 blackhole; }
protocol bgp b4 {
  local 198.18.0.${n} as ${AS}; neighbor ${US4} as ${AS}; direct; strict bind; connect delay time 1;
  graceful restart on; long lived graceful restart on; enable extended messages on;
  ipv4 { import none; export ${exp4}; next hop self; add paths tx; };
}
protocol bgp b6 {
  local 2001:2::${n} as ${AS}; neighbor ${US6} as ${AS}; direct; strict bind; connect delay time 1;
  ipv6 { import none; export ${exp6}; next hop self; };
}`;
}

function frrConfig(): string {
  const n = PEERS.frr;
  return `hostname frr-golden
router bgp ${AS}
 bgp router-id 198.18.0.${n}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor ${US4} remote-as ${AS}
 neighbor ${US4} update-source 198.18.0.${n}
 neighbor ${US4} timers connect 1
 neighbor ${US6} remote-as ${AS}
 neighbor ${US6} update-source 2001:2::${n}
 neighbor ${US6} timers connect 1
 address-family ipv4 unicast
  network 10.20.0.0/24 route-map SET4
  network 10.20.1.0/24
  neighbor ${US4} activate
  neighbor ${US4} next-hop-self
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:20::/48 route-map SET6
  neighbor ${US6} activate
  neighbor ${US6} next-hop-self
  neighbor ${US6} route-map LL out
 exit-address-family
route-map SET4 permit 10
 set metric 50
 set local-preference 200
 set community 65000:100 65000:200 no-export
 set large-community 65000:1:2
route-map SET6 permit 10
 set metric 60
 set community 65000:600
 set large-community 65000:6:6
route-map LL permit 10
 set ipv6 next-hop global 2001:2::${n}
 set ipv6 next-hop local fe80::3
`;
}

function gobgpConfig(): string {
  const n = PEERS.gobgp;
  const neighbor = (addr: string, local: string, family: string): string => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${addr}"
    peer-as = ${AS}
  [neighbors.transport.config]
    local-address = "${local}"
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${family}"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`;
  return `[global.config]
  as = ${AS}
  router-id = "198.18.0.${n}"
  local-address-list = ["198.18.0.${n}", "2001:2::${n}"]
${neighbor(US4, `198.18.0.${n}`, 'ipv4-unicast')}${neighbor(US6, `2001:2::${n}`, 'ipv6-unicast')}`;
}

function daemonOf(remote: string): { daemon: Daemon; family: 'ipv4' | 'ipv6' } | undefined {
  for (const [daemon, n] of Object.entries(PEERS) as [Daemon, number][]) {
    if (remote === `198.18.0.${n}` || remote === `::ffff:198.18.0.${n}`) return { daemon, family: 'ipv4' };
    if (remote === `2001:2::${n}`) return { daemon, family: 'ipv6' };
  }
  return undefined;
}

function serve(server: Server, sessions: Session[]): void {
  server.on('connection', (socket: Socket) => {
    const who = daemonOf(socket.remoteAddress ?? '');
    if (!who) {
      socket.destroy();
      return;
    }
    const s: Session = { ...who, socket, received: [], sent: [], endOfRib: false, notified: false, refreshDone: false };
    sessions.push(s);
    const reader = new FrameReader({ extendedMessage: true });
    const send = (m: Uint8Array): void => {
      s.sent.push(m);
      socket.write(m);
    };
    const keepalive = setInterval(
      () => send(encodeMessage(KEEPALIVE, s.opts ?? { fourOctetAs: false, extendedMessage: false, addPath: [] })),
      10_000,
    );
    socket.on('close', () => clearInterval(keepalive));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      for (let f = reader.next(); f; f = reader.next()) {
        s.received.push(new Uint8Array(f.message));
        const opts = s.opts ?? { fourOctetAs: true, extendedMessage: true, addPath: [] };
        const { message } = decodeMessage(f.message, opts);
        if (message.type === MessageType.Open) {
          s.opts = negotiate(ourOpen, message);
          send(encodeMessage(ourOpen, s.opts));
          send(encodeMessage(KEEPALIVE, s.opts));
        } else if (message.type === MessageType.Update && isEndOfRib(message)) {
          s.endOfRib = true;
        } else if (
          message.type === MessageType.RouteRefresh &&
          message.subtype === RouteRefreshSubtype.EndOfRouteRefresh
        ) {
          s.refreshDone = true;
        } else if (message.type === MessageType.Notification) {
          s.notified = true;
        }
      }
    });
  });
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const ours = await createNetns('mlcapA');
  const theirs = await createNetns('mlcapB');
  const sessions: Session[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    await link(ours, theirs);
    const transport = await ours.transport();
    serve(await transport.listen({ host: US4, port: 179 }), sessions);
    serve(await transport.listen({ host: US6, port: 179 }), sessions);

    const bird = await startBird({ netns: theirs, address: '198.18.0.2', config: birdConfig() });
    stops.push(() => bird.stop());
    const frr = await startFrr({ netns: theirs, address: '198.18.0.3', config: frrConfig() });
    stops.push(() => frr.stop());
    const gobgp = await startGobgp({ netns: theirs, address: '198.18.0.4', config: gobgpConfig() });
    stops.push(() => gobgp.stop());
    const gobgpArgs4 = [
      'nexthop',
      '198.18.0.4',
      'med',
      '50',
      'local-pref',
      '200',
      'community',
      '65000:100,65000:200',
      'large-community',
      '65000:1:2',
    ];
    await gobgp.addRoute('10.30.0.0/24', gobgpArgs4, 'ipv4');
    await gobgp.addRoute('10.30.1.0/24', ['nexthop', '198.18.0.4', 'origin', 'incomplete'], 'ipv4');
    await gobgp.addRoute(
      '2001:db8:30::/48',
      ['nexthop', '2001:2::4', 'med', '60', 'community', '65000:600', 'large-community', '65000:6:6'],
      'ipv6',
    );

    const find = (d: Daemon, f: 'ipv4' | 'ipv6'): Session | undefined =>
      sessions.find((s) => s.daemon === d && s.family === f);
    const all = (Object.keys(PEERS) as Daemon[]).flatMap((d) =>
      (['ipv4', 'ipv6'] as const).map((f) => [d, f] as const),
    );
    await until('End-of-RIB on every session', () => all.every(([d, f]) => find(d, f)?.endOfRib), 90_000);
    await new Promise((r) => setTimeout(r, 1500));

    // Route refresh on the IPv4 sessions (enhanced: BoRR ... EoRR).
    for (const d of Object.keys(PEERS) as Daemon[]) {
      const s = find(d, 'ipv4')!;
      const rr = encodeMessage(
        { type: MessageType.RouteRefresh, afi: Afi.Ipv4, safi: Safi.Unicast, subtype: RouteRefreshSubtype.Normal },
        s.opts!,
      );
      s.sent.push(rr);
      s.socket.write(rr);
    }
    await until(
      'route refresh answers',
      () =>
        (Object.keys(PEERS) as Daemon[]).every(
          (d) => !find(d, 'ipv4')!.opts!.enhancedRouteRefresh || find(d, 'ipv4')!.refreshDone,
        ),
      15_000,
    ).catch((e: Error) => console.warn(e.message));
    await new Promise((r) => setTimeout(r, 1500));

    // Administrative shutdown with an RFC 9003 message, as each daemon sends it.
    await bird.birdc('disable b4 "golden capture: maintenance"');
    await frr.vtysh(
      'configure terminal',
      `router bgp ${AS}`,
      `neighbor ${US4} shutdown message golden capture: maintenance`,
    );
    await gobgp.gobgp('neighbor', US4, 'shutdown', '--reason', 'golden capture: maintenance');
    await until(
      'Cease NOTIFICATIONs',
      () => (Object.keys(PEERS) as Daemon[]).every((d) => find(d, 'ipv4')!.notified),
      15_000,
    ).catch((e: Error) => console.warn(e.message));

    for (const s of sessions.filter((x) => find(x.daemon, x.family) === x)) {
      const dir = join(OUT, s.daemon);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${s.family}.recv.hex`), hexLines(s.received));
      writeFileSync(join(dir, `${s.family}.sent.hex`), hexLines(s.sent.filter((m) => m[18] !== MessageType.Keepalive)));
      console.log(`${s.daemon} ${s.family}: ${s.received.length} messages received`);
    }
    for (const s of sessions) {
      const bye = shutdownNotification(CeaseSubcode.AdministrativeShutdown, 'capture done');
      s.socket.end(encodeMessage(bye, s.opts ?? { fourOctetAs: false, extendedMessage: false, addPath: [] }));
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await ours.destroy();
    await theirs.destroy();
  }
}

await main();

// The interop scenario every real daemon goes through (BIRD 2, FRR bgpd, GoBGP), inside a network
// namespace the suite creates: our speakers and the daemon each bind their own 198.18.0.0/15 or
// 2001:2::/48 address on the namespace's loopback, port 179.
//
//   S1  AS 65000       v4  ── IPv4 unicast, 2-octet ASNs, graceful restart ──┐
//   S2  AS 4200000000  v6  ── IPv6 unicast, 4-octet ASN ─────────────────────┤
//   S3  AS 65010       v4  ── sends a route with an unknown transitive attr ─┤  daemon AS 65001
//   S4  AS 65020       v4  ── expects the wrong AS: we send Bad Peer AS ─────┤  (v4 D4, v6 D6)
//   S5  AS 65030       v4  ── daemon offers 9 s, we require 30 s ────────────┘
//
// Each daemon is plugged in through a DaemonAdapter (config, table queries, last error, asking us
// for a refresh); the checks are the same for all three.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrFlag, formatCommunity, type PathAttributes } from '../../bgp/index.js';
import { BgpSpeaker, type PeerConfig, type RouteRefreshEvent } from '../../bgp/index.js';
import { createNetns, netnsSkipReason, type Netns, type NetnsTransport } from './netns.js';
import { poll } from './daemon.js';
import { RouteCollector, announce, originAttributes, waitForPeerState } from './routes.js';

export interface InteropNeighbor {
  /** Daemon-side name (BIRD protocol name). */
  name: string;
  /** Our address for this session. */
  ours: string;
  ourAs: number;
  /** The daemon's address for this session. */
  local: string;
  family: 'ipv4' | 'ipv6';
  /** Hold time the daemon offers. */
  holdTime: number;
}

export interface InteropPlan {
  as: number;
  routerId: string;
  v4: string;
  v6: string;
  neighbors: InteropNeighbor[];
  /** Routes the daemon originates: MED 50, community 65001:1, large community 65001:2:3. */
  originate: { ipv4: string; ipv6: string };
}

/** A route in the daemon's table, learned from one of our speakers. */
export interface DaemonRoute {
  prefix: string;
  asPath: number[];
  med: number | undefined;
  /** `asn:value` */
  communities: string[];
  /** `global:local1:local2` */
  largeCommunities: string[];
  /** undefined when the daemon does not show staleness. */
  stale: boolean | undefined;
}

export interface DaemonAdapter {
  name: string;
  /** Why this daemon cannot run here (binary missing), or undefined. */
  skipReason(): string | undefined;
  start(ns: Netns, plan: InteropPlan): Promise<void>;
  waitEstablished(n: InteropNeighbor, timeoutMs?: number): Promise<void>;
  /** Whether the daemon considers the session with `n` Established right now. */
  isEstablished(n: InteropNeighbor): Promise<boolean>;
  /** Routes of the family the daemon learned from `n`. */
  routes(n: InteropNeighbor): Promise<DaemonRoute[]>;
  /**
   * What the daemon shows about NOTIFICATIONs it received from `n`: one readable line each (its
   * log or last-error field) and how many it counted. `lines` may be empty when the daemon does
   * not record the code (see `describesOpenErrors`).
   */
  receivedNotifications(n: InteropNeighbor): Promise<{ lines: string[]; count: number | undefined }>;
  /**
   * False when the daemon keeps no trace of the code of a NOTIFICATION received before the
   * session is Established (GoBGP 3 counts it and drops the session as "invalid-msg"); the suite
   * then checks the count and that the session did not come up.
   */
  describesOpenErrors: boolean;
  /** Makes the daemon send us a ROUTE-REFRESH for the session with `n`; false when it has no way to. */
  requestRefresh(n: InteropNeighbor): Promise<boolean>;
  diagnostics(): string;
  stop(): Promise<void>;
}

const DAEMON_AS = 65001;

const pick = (n: { code: number; subcode: number } | undefined): { code: number; subcode: number } | undefined =>
  n ? { code: n.code, subcode: n.subcode } : undefined;
const UNKNOWN_TYPE = 99;
const UNKNOWN_VALUE = new Uint8Array([1, 2, 3, 4, 5]);

export function interopSuite(adapter: DaemonAdapter): void {
  const skip = netnsSkipReason() ?? adapter.skipReason();
  describe(`interop with ${adapter.name}`, { skip: skip ?? false }, () => {
    let ns: Netns;
    let transport: NetnsTransport;
    let plan: InteropPlan;
    const speakers: BgpSpeaker[] = [];
    let s1: BgpSpeaker, s2: BgpSpeaker, s3: BgpSpeaker, s4: BgpSpeaker, s5: BgpSpeaker;
    let n1: InteropNeighbor, n2: InteropNeighbor, n3: InteropNeighbor, n4: InteropNeighbor, n5: InteropNeighbor;
    let c1: RouteCollector, c2: RouteCollector;
    const refreshEvents: RouteRefreshEvent[] = [];
    let started = false;

    const speaker = (
      localAs: number,
      address: string,
      peer: PeerConfig,
      extra: Partial<ConstructorParameters<typeof BgpSpeaker>[0]> = {},
    ): BgpSpeaker => {
      const s = new BgpSpeaker({
        localAs,
        routerId: address.includes(':') ? '198.18.1.6' : address,
        listen: { address, port: 179 },
        transport,
        ...extra,
      });
      s.addPeer({ connectRetryTime: 1, idleHold: { min: 0.5, max: 2 }, ...peer });
      speakers.push(s);
      return s;
    };
    const diagnose = (): string =>
      `${adapter.name}: ${adapter.diagnostics()}\nours: ${JSON.stringify(speakers.map((s) => s.peers().map((p) => [p.address, p.state, p.lastError])))}`;

    before(async () => {
      ns = await createNetns();
      transport = await ns.transport();
      const d4 = await ns.addAddress(4);
      const a1 = await ns.addAddress(4);
      const a3 = await ns.addAddress(4);
      const a4 = await ns.addAddress(4);
      const a5 = await ns.addAddress(4);
      const d6 = await ns.addAddress(6);
      const a6 = await ns.addAddress(6);
      n1 = { name: 'us1', ours: a1, ourAs: 65000, local: d4, family: 'ipv4', holdTime: 9 };
      n2 = { name: 'us2', ours: a6, ourAs: 4200000000, local: d6, family: 'ipv6', holdTime: 9 };
      n3 = { name: 'us3', ours: a3, ourAs: 65010, local: d4, family: 'ipv4', holdTime: 9 };
      n4 = { name: 'us4', ours: a4, ourAs: 65020, local: d4, family: 'ipv4', holdTime: 9 };
      n5 = { name: 'us5', ours: a5, ourAs: 65030, local: d4, family: 'ipv4', holdTime: 9 };
      plan = {
        as: DAEMON_AS,
        routerId: d4,
        v4: d4,
        v6: d6,
        neighbors: [n1, n2, n3, n4, n5],
        originate: { ipv4: '10.1.0.0/24', ipv6: '2001:db8:1::/48' },
      };
      await adapter.start(ns, plan);
      started = true;
      s1 = speaker(
        65000,
        a1,
        { address: d4, remoteAs: DAEMON_AS, localAddress: a1, families: ['ipv4-unicast'] },
        { gracefulRestart: { restartTime: 120 } },
      );
      s2 = speaker(4200000000, a6, { address: d6, remoteAs: DAEMON_AS, localAddress: a6, families: ['ipv6-unicast'] });
      s3 = speaker(65010, a3, { address: d4, remoteAs: DAEMON_AS, localAddress: a3, families: ['ipv4-unicast'] });
      s4 = speaker(65020, a4, { address: d4, remoteAs: 65555, localAddress: a4, families: ['ipv4-unicast'] });
      s5 = speaker(65030, a5, {
        address: d4,
        remoteAs: DAEMON_AS,
        localAddress: a5,
        families: ['ipv4-unicast'],
        minHoldTime: 30,
      });
      c1 = new RouteCollector(s1);
      c2 = new RouteCollector(s2);
      s1.on('routeRefresh', (e) => refreshEvents.push(e));
      for (const s of speakers) await s.start();
    });

    after(async () => {
      await Promise.all(speakers.map((s) => s.close().catch(() => undefined)));
      if (started) await adapter.stop();
      await transport?.close();
      await ns?.destroy();
    });

    test('sessions establish over IPv4 with 2-octet ASNs and over IPv6 with a 4-octet ASN', async () => {
      try {
        await waitForPeerState(s1, n1.local, 'Established');
        await waitForPeerState(s2, n2.local, 'Established');
        await waitForPeerState(s3, n3.local, 'Established');
        await adapter.waitEstablished(n1);
        await adapter.waitEstablished(n2);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${diagnose()}`);
      }
      const v4 = s1.negotiated(n1.local)!;
      assert.equal(v4.peerAs, DAEMON_AS);
      assert.equal(v4.fourOctetAs, true);
      assert.deepEqual(v4.families, [{ afi: 1, safi: 1 }]);
      assert.equal(v4.holdTime, 9);
      const v6 = s2.negotiated(n2.local)!;
      assert.deepEqual(v6.families, [{ afi: 2, safi: 1 }]);
      assert.equal(v6.fourOctetAs, true);
    });

    test('routes the daemon announces arrive with every attribute intact', async () => {
      const expectAttrs = (a: PathAttributes): void => {
        assert.deepEqual(a.asPath, [{ type: 2, asns: [DAEMON_AS] }]);
        assert.equal(a.origin, 0);
        assert.equal(a.med, 50);
        assert.deepEqual(a.communities?.map(formatCommunity), ['65001:1']);
        assert.deepEqual(a.largeCommunities, [{ globalAdmin: 65001, localData1: 2, localData2: 3 }]);
      };
      const r4 = await c1.waitForRoute(n1.local, plan.originate.ipv4);
      expectAttrs(r4.attributes);
      assert.equal(r4.nextHop, n1.local);
      const r6 = await c2.waitForRoute(n2.local, plan.originate.ipv6);
      expectAttrs(r6.attributes);
      assert.equal(r6.nextHop, n2.local);
    });

    test('an unknown optional transitive attribute crosses the daemon byte for byte, Partial set', async () => {
      await announce(
        s3,
        n3.local,
        ['10.99.0.0/24'],
        originAttributes(65010, {
          nextHop: n3.ours,
          unknown: [{ flags: AttrFlag.Optional | AttrFlag.Transitive, type: UNKNOWN_TYPE, value: UNKNOWN_VALUE }],
        }),
      );
      const r = await c1.waitForRoute(n1.local, '10.99.0.0/24');
      assert.deepEqual(r.attributes.asPath, [{ type: 2, asns: [DAEMON_AS, 65010] }]);
      assert.deepEqual(
        r.attributes.unknown.map((u) => ({ ...u, value: [...u.value] })),
        [
          {
            flags: AttrFlag.Optional | AttrFlag.Transitive | AttrFlag.Partial,
            type: UNKNOWN_TYPE,
            value: [...UNKNOWN_VALUE],
          },
        ],
      );
    });

    test('routes we send appear in the daemon table with our attributes', async () => {
      await announce(
        s1,
        n1.local,
        ['10.200.0.0/24', '10.201.0.0/24'],
        originAttributes(65000, {
          nextHop: n1.ours,
          med: 5,
          communities: [65000 * 65536 + 7],
          largeCommunities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }],
        }),
      );
      await announce(
        s2,
        n2.local,
        ['2001:db8:200::/48'],
        originAttributes(4200000000, { communities: [65000 * 65536 + 8] }),
        n2.ours,
      );
      const v4 = await poll(
        `10.200.0.0/24 in ${adapter.name}`,
        async () => (await adapter.routes(n1)).find((r) => r.prefix === '10.200.0.0/24'),
        20_000,
        diagnose,
      );
      assert.deepEqual(v4.asPath, [65000]);
      assert.equal(v4.med, 5);
      assert.deepEqual(v4.communities, ['65000:7']);
      assert.deepEqual(v4.largeCommunities, ['65000:1:2']);
      const v6 = await poll(
        `2001:db8:200::/48 in ${adapter.name}`,
        async () => (await adapter.routes(n2)).find((r) => r.prefix === '2001:db8:200::/48'),
        20_000,
        diagnose,
      );
      assert.deepEqual(v6.asPath, [4200000000]);
      assert.deepEqual(v6.communities, ['65000:8']);
    });

    test('route refresh works in both directions', async (t) => {
      const negotiated = s1.negotiated(n1.local)!;
      assert.equal(negotiated.routeRefresh, true);
      const before = c1.updates;
      refreshEvents.length = 0;
      s1.refresh(n1.local, 1);
      await poll(
        'the daemon re-sending its routes after our ROUTE-REFRESH',
        async () => (c1.updates > before ? true : undefined),
        20_000,
        diagnose,
      );
      if (negotiated.enhancedRouteRefresh) {
        await poll(
          'BoRR and EoRR around the re-sent routes (RFC 7313)',
          async () => (refreshEvents.some((e) => e.kind === 'end') ? true : undefined),
          20_000,
          diagnose,
        );
        assert.deepEqual(
          refreshEvents.map((e) => e.kind),
          ['begin', 'end'],
        );
      }
      refreshEvents.length = 0;
      if (!(await adapter.requestRefresh(n1))) {
        t.diagnostic(`${adapter.name} cannot be made to send a ROUTE-REFRESH; only our request was checked`);
        return;
      }
      const req = await poll(
        'a ROUTE-REFRESH request from the daemon',
        async () => refreshEvents.find((e) => e.kind === 'request'),
        20_000,
        diagnose,
      );
      assert.deepEqual({ afi: req.afi, safi: req.safi }, { afi: 1, safi: 1 });
    });

    test('the daemon understands our NOTIFICATION for a bad OPEN (peer AS, hold time)', async (t) => {
      const shows = (n: InteropNeighbor, re: RegExp) => async (): Promise<string | undefined> => {
        const seen = await adapter.receivedNotifications(n);
        if (adapter.describesOpenErrors) return seen.lines.find((l) => re.test(l));
        return (seen.count ?? 0) >= 1 && !(await adapter.isEstablished(n))
          ? `${seen.count} NOTIFICATION(s) received, session not established`
          : undefined;
      };
      const badAs = await poll('the daemon reporting Bad Peer AS', shows(n4, /bad peer as/i), 30_000, diagnose);
      const badHold = await poll(
        'the daemon reporting Unacceptable Hold Time',
        shows(n5, /hold ?time/i),
        30_000,
        diagnose,
      );
      assert.deepEqual(pick(s4.peer(n4.local)!.notifications.lastSent), { code: 2, subcode: 2 });
      assert.deepEqual(pick(s5.peer(n5.local)!.notifications.lastSent), { code: 2, subcode: 6 });
      await s4.close();
      await s5.close();
      t.diagnostic(`${adapter.name} shows: "${badAs}" and "${badHold}"`);
    });

    test('graceful restart: the daemon keeps our routes stale until our End-of-RIB', async () => {
      await poll(
        'both routes in the daemon',
        async () => {
          const r = await adapter.routes(n1);
          return r.some((x) => x.prefix === '10.200.0.0/24') && r.some((x) => x.prefix === '10.201.0.0/24')
            ? true
            : undefined;
        },
        20_000,
        diagnose,
      );
      // Crash: the TCP connection ends without NOTIFICATION.
      await s1.abort();
      speakers.splice(speakers.indexOf(s1), 1);
      await poll(
        'the daemon noticing the session loss',
        async () => ((await adapter.isEstablished(n1)) ? undefined : true),
        30_000,
        diagnose,
      );
      const kept = await adapter.routes(n1);
      assert.ok(
        kept.some((r) => r.prefix === '10.200.0.0/24') && kept.some((r) => r.prefix === '10.201.0.0/24'),
        `routes kept while we restart: ${JSON.stringify(kept)}`,
      );
      for (const r of kept) if (r.stale !== undefined) assert.equal(r.stale, true, `${r.prefix} marked stale`);

      // Restart with the R bit; re-announce one of the two routes, End-of-RIB later.
      // Forwarding state preserved (F bit): without it RFC 4724 §4.2 makes the daemon drop the stale routes at once.
      const restarted = speaker(
        65000,
        n1.ours,
        { address: n1.local, remoteAs: DAEMON_AS, localAddress: n1.ours, families: ['ipv4-unicast'] },
        { gracefulRestart: { restartTime: 120, restarting: true, forwardingState: true } },
      );
      await restarted.start();
      await waitForPeerState(restarted, n1.local, 'Established');
      await announce(restarted, n1.local, ['10.200.0.0/24'], originAttributes(65000, { nextHop: n1.ours, med: 5 }));
      await poll(
        '10.200.0.0/24 refreshed in the daemon',
        async () => {
          const r = (await adapter.routes(n1)).find((x) => x.prefix === '10.200.0.0/24');
          return r && r.stale !== true && r.communities.length === 0 ? true : undefined;
        },
        20_000,
        diagnose,
      );
      const waiting = await adapter.routes(n1);
      assert.ok(
        waiting.some((r) => r.prefix === '10.201.0.0/24'),
        `the route not re-sent stays until End-of-RIB: ${JSON.stringify(waiting)}`,
      );
      restarted.sendEndOfRib(n1.local, 1);
      restarted.restartComplete();
      await poll(
        'the stale route purged after our End-of-RIB',
        async () => {
          const r = await adapter.routes(n1);
          return !r.some((x) => x.prefix === '10.201.0.0/24') && r.some((x) => x.prefix === '10.200.0.0/24')
            ? true
            : undefined;
        },
        20_000,
        diagnose,
      );
    });
  });
}

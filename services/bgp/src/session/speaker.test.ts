// BgpSpeaker over real TCP on loopback, our speaker on both ends (each binds its own 127.0.x.y):
// collisions, dynamic peers, administrative shutdown/reset with RFC 9003 messages, live peer
// changes, hold timer expiry, the graceful-restart helper, backpressure, ADD-PATH and extended
// messages, metrics, and configuration errors that name their field.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../../shared/errors/index.js';
import { startTelemetry } from '../../../shared/telemetry/index.js';
import {
  encodeAttributes,
  packUpdates,
  parsePrefix,
  wirePrefixesToPrefixes,
  type Prefix,
  type UpdateMessage,
} from '../codec/index.js';
import {
  RawPeer,
  RouteCollector,
  announce,
  originAttributes,
  poll,
  waitForPeerState,
  withdraw,
} from '../../../testing/index.js';
import {
  BgpSpeaker,
  type PeerConfig,
  type SessionDownEvent,
  type SpeakerConfig,
  type StaleRoutesEvent,
} from './index.js';

const open: BgpSpeaker[] = [];
let subnet = 0;

after(async () => {
  await Promise.all(open.map((s) => s.close().catch(() => undefined)));
});

function make(config: SpeakerConfig): BgpSpeaker {
  const s = new BgpSpeaker(config);
  open.push(s);
  return s;
}

/** A (passive, listening) and B (active) on fresh loopback addresses, Established. */
async function pair(
  options: {
    a?: Partial<SpeakerConfig>;
    b?: Partial<SpeakerConfig>;
    aPeer?: Partial<PeerConfig>;
    bPeer?: Partial<PeerConfig>;
    wait?: boolean;
  } = {},
): Promise<{ a: BgpSpeaker; b: BgpSpeaker; aAddr: string; bAddr: string; port: number }> {
  subnet++;
  const aAddr = `127.1.${subnet}.1`;
  const bAddr = `127.1.${subnet}.2`;
  const a = make({ localAs: 65001, routerId: '10.0.0.1', listen: { address: aAddr, port: 0 }, ...options.a });
  a.addPeer({ address: bAddr, remoteAs: 65002, passive: true, idleHold: { min: 0.1, max: 0.5 }, ...options.aPeer });
  await a.start();
  const port = a.listenPort!;
  const b = make({ localAs: 65002, routerId: '10.0.0.2', listen: false, ...options.b });
  b.addPeer({
    address: aAddr,
    port,
    localAddress: bAddr,
    remoteAs: 65001,
    connectRetryTime: 0.2,
    idleHold: { min: 0.1, max: 0.5 },
    ...options.bPeer,
  });
  await b.start();
  if (options.wait !== false) {
    await waitForPeerState(a, bAddr, 'Established', 10_000);
    await waitForPeerState(b, aAddr, 'Established', 10_000);
  }
  return { a, b, aAddr, bAddr, port };
}

describe('BgpSpeaker', () => {
  test('collision: both sides connect at once and converge on one session', async () => {
    subnet++;
    const x = `127.1.${subnet}.1`;
    const y = `127.1.${subnet}.2`;
    const sx = make({ localAs: 65001, routerId: '10.0.0.1', listen: { address: x, port: 0 } });
    const sy = make({ localAs: 65002, routerId: '10.0.0.2', listen: { address: y, port: 0 } });
    await sx.start();
    await sy.start();
    sx.addPeer({
      address: y,
      port: sy.listenPort!,
      localAddress: x,
      remoteAs: 65002,
      holdTime: 3,
      connectRetryTime: 0.2,
    });
    sy.addPeer({
      address: x,
      port: sx.listenPort!,
      localAddress: y,
      remoteAs: 65001,
      holdTime: 3,
      connectRetryTime: 0.2,
    });
    await waitForPeerState(sx, y, 'Established');
    await waitForPeerState(sy, x, 'Established');
    // Three keepalive exchanges later, nobody flapped.
    await poll(
      'three KEEPALIVEs',
      async () => ((sx.peer(y)!.messages.received.KEEPALIVE ?? 0) >= 4 ? true : undefined),
      10_000,
    );
    assert.equal(sx.peer(y)!.flaps, 0);
    assert.equal(sy.peer(x)!.flaps, 0);
    assert.equal(sx.peer(y)!.state, 'Established');
  });

  test('dynamic peers: accepted from the range, AS checked, limit enforced, removed when gone', async () => {
    subnet++;
    const a = make({
      localAs: 65001,
      routerId: '10.0.0.1',
      listen: { address: `127.1.${subnet}.1`, port: 0 },
      dynamicPeers: [{ prefix: `127.2.${subnet}.0/24`, remoteAs: 65010 }],
      maxDynamicPeers: 1,
    });
    await a.start();
    const b = make({ localAs: 65010, routerId: '10.0.0.2', listen: false });
    b.addPeer({
      address: `127.1.${subnet}.1`,
      port: a.listenPort!,
      localAddress: `127.2.${subnet}.5`,
      remoteAs: 65001,
      connectRetryTime: 0.2,
    });
    await b.start();
    await waitForPeerState(a, `127.2.${subnet}.5`, 'Established');
    assert.equal(a.peer(`127.2.${subnet}.5`)!.dynamic, true);
    // The range is full: another source gets Cease/Out of Resources.
    const extra = await RawPeer.connect(a.listenPort!, `127.2.${subnet}.6`, `127.1.${subnet}.1`);
    const n = await extra.expectNotification();
    assert.deepEqual([n.code, n.subcode], [6, 8]);
    await b.close();
    await poll(
      'the dynamic peer to be forgotten',
      async () => (a.peer(`127.2.${subnet}.5`) === undefined ? true : undefined),
      10_000,
    );
    // A wrong AS from the range: Bad Peer AS.
    const wrong = await RawPeer.connect(a.listenPort!, `127.2.${subnet}.7`, `127.1.${subnet}.1`);
    wrong.send((await import('../../../testing/index.js')).rawOpen({ asn: 65099, bgpId: '10.9.9.9' }));
    const w = await wrong.expectNotification();
    assert.deepEqual([w.code, w.subcode], [2, 2]);
  });

  test('shutdown carries an RFC 9003 message; startPeer brings the session back', async () => {
    const { a, b, aAddr, bAddr } = await pair();
    a.shutdown(bAddr, 'maintenance window 42 ✓');
    await poll('B to see the Cease', async () => b.peer(aAddr)!.notifications.lastReceived, 5000);
    const got = b.peer(aAddr)!.notifications.lastReceived!;
    assert.deepEqual([got.code, got.subcode], [6, 2]);
    assert.match(got.text, /maintenance window 42 ✓/);
    assert.equal(a.peer(bAddr)!.state, 'Idle');
    a.startPeer(bAddr);
    await waitForPeerState(a, bAddr, 'Established');
  });

  test('reset sends Cease/Administrative Reset and the session comes back by itself', async () => {
    const { a, b, aAddr, bAddr } = await pair();
    const downs: SessionDownEvent[] = [];
    b.on('sessionDown', (e) => downs.push(e));
    a.reset(bAddr, 'new policy');
    await poll('B to see the reset', async () => downs[0], 5000);
    assert.deepEqual(downs[0]!.reason, {
      kind: 'notification-received',
      code: 6,
      subcode: 4,
      data: downs[0]!.reason.kind === 'notification-received' ? downs[0]!.reason.data : new Uint8Array(),
    });
    assert.match(b.peer(aAddr)!.notifications.lastReceived!.text, /new policy/);
    await waitForPeerState(b, aAddr, 'Established');
    await waitForPeerState(a, bAddr, 'Established');
  });

  test('updatePeer: timers apply without a reset; a family change resets with Cease/Other Configuration Change', async () => {
    const { a, b, aAddr, bAddr } = await pair({
      aPeer: { families: ['ipv4-unicast'] },
      bPeer: { families: ['ipv4-unicast', 'ipv6-unicast'] },
    });
    assert.deepEqual(b.negotiated(aAddr)!.families, [{ afi: 1, safi: 1 }]);
    a.updatePeer(bAddr, { connectRetryTime: 2, idleHold: { min: 0.2, max: 1 } });
    assert.equal(a.peer(bAddr)!.flaps, 0);
    assert.equal(a.peer(bAddr)!.state, 'Established');
    a.updatePeer(bAddr, { families: ['ipv4-unicast', 'ipv6-unicast'] });
    await poll(
      'B to see Cease/6',
      async () => (b.peer(aAddr)!.notifications.lastReceived?.subcode === 6 ? true : undefined),
      5000,
    );
    await waitForPeerState(b, aAddr, 'Established');
    assert.deepEqual(b.negotiated(aAddr)!.families, [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ]);
  });

  test('removePeer sends Cease/Peer De-configured', async () => {
    const { a, b, aAddr, bAddr } = await pair();
    await a.removePeer(bAddr);
    assert.equal(a.peer(bAddr), undefined);
    await poll(
      'B to see Cease/3',
      async () => (b.peer(aAddr)!.notifications.lastReceived?.subcode === 3 ? true : undefined),
      5000,
    );
  });

  test('hold timer expiry: a silent peer gets Hold Timer Expired and the session-down event says so', async () => {
    subnet++;
    const a = make({ localAs: 65001, routerId: '10.0.0.1', listen: { address: `127.1.${subnet}.1`, port: 0 } });
    a.addPeer({ address: `127.1.${subnet}.2`, remoteAs: 65100, passive: true, holdTime: 3 });
    const downs: SessionDownEvent[] = [];
    a.on('sessionDown', (e) => downs.push(e));
    await a.start();
    a.addPeer({ address: `127.1.${subnet}.3`, remoteAs: 65100, passive: true, holdTime: 3 });
    const raw = await RawPeer.connect(a.listenPort!, `127.1.${subnet}.2`, `127.1.${subnet}.1`);
    await raw.handshake({ asn: 65100, bgpId: '10.0.0.9', holdTime: 3 });
    // Half a message and then silence is no sign of life either.
    const half = await RawPeer.connect(a.listenPort!, `127.1.${subnet}.3`, `127.1.${subnet}.1`);
    await half.handshake({ asn: 65100, bgpId: '10.0.0.8', holdTime: 3 });
    half.send(new Uint8Array(12).fill(0xff));
    const [n, m] = await Promise.all([raw.expectNotification(10_000), half.expectNotification(10_000)]);
    assert.deepEqual([n.code, n.subcode], [4, 0]);
    assert.deepEqual([m.code, m.subcode], [4, 0]);
    assert.deepEqual(
      downs.map((d) => d.reason),
      [{ kind: 'hold-timer-expired' }, { kind: 'hold-timer-expired' }],
    );
  });

  test('graceful restart helper: routes retained, refreshed, the rest purged at End-of-RIB', async () => {
    const gr = { restartTime: 30, forwardingState: true };
    const { a, b, aAddr, bAddr, port } = await pair({ b: { gracefulRestart: gr } });
    const collected = new RouteCollector(a);
    const stale: StaleRoutesEvent[] = [];
    const downs: SessionDownEvent[] = [];
    a.on('staleRoutes', (e) => stale.push(e));
    a.on('sessionDown', (e) => downs.push(e));
    await announce(b, aAddr, ['10.7.0.0/24', '10.8.0.0/24'], originAttributes(65002, { nextHop: bAddr }));
    await collected.waitForCount(bAddr, 2);
    await b.abort();
    await poll('the session loss', async () => downs[0], 10_000);
    const both = [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ];
    assert.deepEqual(downs[0]!.retained, both);
    assert.deepEqual(a.peer(bAddr)!.staleFamilies, both);
    const b2 = make({
      localAs: 65002,
      routerId: '10.0.0.2',
      listen: false,
      gracefulRestart: { ...gr, restarting: true },
    });
    b2.addPeer({ address: aAddr, port, localAddress: bAddr, remoteAs: 65001, connectRetryTime: 0.2 });
    await b2.start();
    await waitForPeerState(a, bAddr, 'Established');
    assert.equal(a.negotiated(bAddr)!.peerGracefulRestart!.restartFlags & 0x8, 0x8, 'R bit seen');
    await announce(b2, aAddr, ['10.7.0.0/24'], originAttributes(65002, { nextHop: bAddr }));
    assert.deepEqual(stale, []);
    b2.sendEndOfRib(aAddr, 1);
    const purge = await poll('the IPv4 purge at End-of-RIB', async () => stale[0], 5000);
    assert.deepEqual(purge, { peer: bAddr, afi: 1, safi: 1, action: 'purge', cause: 'end-of-rib' });
    // Per family: IPv6 stays stale until its own End-of-RIB.
    assert.deepEqual(a.peer(bAddr)!.staleFamilies, [{ afi: 2, safi: 1 }]);
    b2.sendEndOfRib(aAddr, 2);
    await poll('the IPv6 purge', async () => stale[1], 5000);
    assert.deepEqual(stale[1], { peer: bAddr, afi: 2, safi: 1, action: 'purge', cause: 'end-of-rib' });
    assert.deepEqual(a.peer(bAddr)!.staleFamilies, []);
  });

  test('graceful restart helper: the restart timer, long-lived stale, forwarding state lost', async () => {
    // Peer does not come back: purge when its restart time runs out.
    {
      const { a, b } = await pair({
        b: { gracefulRestart: { restartTime: 1 } },
        bPeer: { families: ['ipv4-unicast'] },
      });
      const stale: StaleRoutesEvent[] = [];
      a.on('staleRoutes', (e) => stale.push(e));
      await b.abort();
      const e = await poll('restart timer purge', async () => stale[0], 10_000);
      assert.deepEqual([e.action, e.cause], ['purge', 'restart-timer']);
    }
    // Both advertise LLGR: long-lived stale after the restart time, purge after the stale time.
    {
      const llgr = { staleTime: 1 };
      const v4 = { families: ['ipv4-unicast' as const] };
      const { a, b, bAddr } = await pair({
        a: { longLivedGracefulRestart: llgr },
        b: { gracefulRestart: { restartTime: 1 }, longLivedGracefulRestart: llgr },
        aPeer: v4,
        bPeer: v4,
      });
      const stale: StaleRoutesEvent[] = [];
      a.on('staleRoutes', (e) => stale.push(e));
      await b.abort();
      await poll('long-lived then purge', async () => (stale.length >= 2 ? true : undefined), 10_000);
      assert.deepEqual(
        stale.map((e) => [e.action, e.cause]),
        [
          ['long-lived', 'restart-timer'],
          ['purge', 'long-lived-timer'],
        ],
      );
      assert.equal(a.peer(bAddr)!.staleFamilies.length, 0);
    }
    // Back without the forwarding state bit: stale routes go at once (RFC 4724 §4.2).
    {
      const { a, b, aAddr, bAddr, port } = await pair({
        b: { gracefulRestart: { restartTime: 30, forwardingState: true } },
        bPeer: { families: ['ipv4-unicast'] },
      });
      const stale: StaleRoutesEvent[] = [];
      a.on('staleRoutes', (e) => stale.push(e));
      await b.abort();
      await poll('stale', async () => (a.peer(bAddr)!.staleFamilies.length === 1 ? true : undefined), 10_000);
      const b2 = make({
        localAs: 65002,
        routerId: '10.0.0.2',
        listen: false,
        gracefulRestart: { restartTime: 30, forwardingState: false, restarting: true },
      });
      b2.addPeer({
        address: aAddr,
        port,
        localAddress: bAddr,
        remoteAs: 65001,
        connectRetryTime: 0.2,
        families: ['ipv4-unicast'],
      });
      await b2.start();
      const e = await poll('purge', async () => stale[0], 10_000);
      assert.deepEqual([e.action, e.cause], ['purge', 'not-preserved']);
    }
  });

  test('without graceful restart on the peer, nothing is retained', async () => {
    const { a, b } = await pair({ bPeer: { gracefulRestart: null } });
    const downs: SessionDownEvent[] = [];
    a.on('sessionDown', (e) => downs.push(e));
    await b.abort();
    const d = await poll('session down', async () => downs[0], 10_000);
    assert.deepEqual(d.reason, { kind: 'connection-lost' });
    assert.deepEqual(d.retained, []);
  });

  test('backpressure: send returns false above the high-water mark, drain follows, nothing is lost', async () => {
    subnet++;
    const aAddr = `127.1.${subnet}.1`;
    const rawAddr = `127.1.${subnet}.2`;
    const a = make({
      localAs: 65001,
      routerId: '10.0.0.1',
      listen: { address: aAddr, port: 0 },
      sendQueueHighWater: 64 * 1024,
    });
    a.addPeer({ address: rawAddr, remoteAs: 65100, passive: true, families: ['ipv4-unicast'] });
    await a.start();
    const raw = await RawPeer.connect(a.listenPort!, rawAddr, aAddr);
    await raw.handshake({ asn: 65100, bgpId: '10.0.0.9' });
    await waitForPeerState(a, rawAddr, 'Established');
    // The peer stops reading: the kernel buffers fill, then ours.
    raw.socket.pause();
    const n = a.negotiated(rawAddr)!;
    const attrs = encodeAttributes(originAttributes(65001, { nextHop: aAddr }), n);
    let sent = 0;
    for (let i = 0; ; i++) {
      const prefixes: Prefix[] = [];
      for (let j = 0; j < 1000; j++)
        prefixes.push(parsePrefix(`${20 + (i >> 8)}.${i & 255}.${j >> 2}.${(j & 3) * 64}/26`));
      const messages = packUpdates(prefixes, attrs, n);
      sent += messages.length;
      if (!a.send(rawAddr, messages)) break;
      // Let libuv hand what it can to the kernel before the next batch.
      await new Promise((r) => setImmediate(r));
      assert.ok(i < 10_000, 'the send queue never filled');
    }
    assert.ok(a.peer(rawAddr)!.outQueueBytes >= 64 * 1024);
    const drained = a.waitForDrain(rawAddr);
    raw.socket.resume();
    await drained;
    let updates = 0;
    while (updates < sent) {
      const f = await raw.next(10_000);
      assert.ok(f, 'connection open');
      if (f.type === 2) updates++;
    }
    assert.equal(a.peer(rawAddr)!.state, 'Established');
  });

  test('ADD-PATH and extended messages are negotiated per session and used by the codec', async () => {
    const { a, b, aAddr, bAddr } = await pair({
      aPeer: { addPath: { 'ipv4-unicast': 'both' } },
      bPeer: { addPath: { 'ipv4-unicast': 'both' } },
    });
    const n = b.negotiated(aAddr)!;
    assert.deepEqual(n.addPath, [{ afi: 1, safi: 1, receive: true, send: true }]);
    assert.equal(n.extendedMessage, true);
    assert.equal(n.maxMessageLength, 65535);
    const collected = new RouteCollector(a);
    const attrs = encodeAttributes(originAttributes(65002, { nextHop: bAddr }), n);
    const many: Prefix[] = [];
    for (let i = 0; i < 3000; i++) many.push(parsePrefix(`30.${i >> 8}.${i & 255}.0/24`, 1 + (i % 2)));
    const messages = packUpdates(many, attrs, n);
    assert.ok(
      messages.some((m) => m.length > 4096),
      'an UPDATE above 4096 octets',
    );
    b.send(aAddr, messages);
    await collected.waitForCount(bAddr, 3000);
    assert.ok(collected.routes.has(`${bAddr} 30.0.0.0/24#1`));
    assert.ok(collected.routes.has(`${bAddr} 30.0.1.0/24#2`));
  });

  test('wireWithdrawals: withdrawn routes arrive in wire form, counted; off by default', async () => {
    const telemetry = await startTelemetry({ service: 'bgp-test', port: 0 });
    try {
      const { a, b, aAddr, bAddr } = await pair({ a: { wireWithdrawals: true, meter: telemetry.meter } });
      const got: UpdateMessage[] = [];
      a.on('update', ({ update }) => got.push(update));
      const prefixes = ['10.1.0.0/24', '10.2.0.0/16', '10.3.3.3/32'];
      await announce(b, aAddr, prefixes, originAttributes(65002, { nextHop: bAddr }));
      await withdraw(b, aAddr, prefixes);
      const w = await poll('the withdrawal', async () => got.find((u) => u.withdrawnWire), 5000);
      assert.deepStrictEqual(w.withdrawn, []);
      assert.deepStrictEqual(
        wirePrefixesToPrefixes(w.withdrawnWire!),
        prefixes.map((p) => parsePrefix(p)),
      );
      const text = await (await fetch(`http://127.0.0.1:${telemetry.port}/metrics`)).text();
      assert.match(text, /bgp_received_withdraw_prefix_total\{[^}]*\} 3/);
      // The other end did not ask: Prefix objects as always.
      const back: UpdateMessage[] = [];
      b.on('update', ({ update }) => back.push(update));
      await announce(a, bAddr, ['10.9.0.0/24'], originAttributes(65001, { nextHop: aAddr }));
      await withdraw(a, bAddr, ['10.9.0.0/24']);
      const plain = await poll('the withdrawal at b', async () => back.find((u) => u.withdrawn.length), 5000);
      assert.equal(plain.withdrawnWire, undefined);
    } finally {
      await telemetry.close();
    }
  });

  test('a throwing event listener does not break the session', async () => {
    const { a, b, aAddr, bAddr } = await pair();
    a.on('update', () => {
      throw new Error('consumer bug');
    });
    await announce(b, aAddr, ['10.1.0.0/24'], originAttributes(65002, { nextHop: bAddr }));
    await poll(
      'the UPDATE to be counted',
      async () => (a.peer(bAddr)!.messages.received.UPDATE ? true : undefined),
      5000,
    );
    assert.equal(a.peer(bAddr)!.state, 'Established');
  });

  test('metrics: bgp_peer_state and message counters on /metrics', async () => {
    const telemetry = await startTelemetry({ service: 'bgp-test', port: 0 });
    try {
      const { a, bAddr } = await pair({ a: { meter: telemetry.meter } });
      await waitForPeerState(a, bAddr, 'Established');
      const text = await (await fetch(`http://127.0.0.1:${telemetry.port}/metrics`)).text();
      assert.match(text, new RegExp(`bgp_peer_state\\{peer="${bAddr.replaceAll('.', '\\.')}"[^}]*\\} 6`));
      assert.match(text, /bgp_sent_open_total\{[^}]*peer="[^"]+"[^}]*\} 1/);
      assert.match(text, /bgp_received_keepalive_total\{[^}]*peer="[^"]+"[^}]*\} [1-9]/);
      assert.match(text, /bgp_sent_message_total\{[^}]*peer="[^"]+"[^}]*\} [1-9]/);
    } finally {
      await telemetry.close();
    }
  });

  test('configuration errors name the field; API misuse gets the typed error', async () => {
    const field = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        return err.field;
      }
      return undefined;
    };
    assert.equal(
      field(() => new BgpSpeaker({ localAs: 0, routerId: '10.0.0.1' })),
      'localAs',
    );
    assert.equal(
      field(() => new BgpSpeaker({ localAs: 1, routerId: '0.0.0.0' })),
      'routerId',
    );
    assert.equal(
      field(() => new BgpSpeaker({ localAs: 1, routerId: '10.0.0.1', listen: { address: 'here', port: 179 } })),
      'listen.address',
    );
    assert.equal(
      field(
        () =>
          new BgpSpeaker({ localAs: 1, routerId: '10.0.0.1', dynamicPeers: [{ prefix: '10.0.0.0/33', remoteAs: 1 }] }),
      ),
      'dynamicPeers[0].prefix',
    );
    const s = make({ localAs: 65001, routerId: '10.0.0.1', listen: false });
    assert.equal(
      field(() => s.addPeer({ address: 'nope', remoteAs: 1 })),
      'peer.address',
    );
    assert.equal(
      field(() => s.addPeer({ address: '10.0.0.2', remoteAs: 2 ** 32 })),
      'peer.remoteAs',
    );
    assert.equal(
      field(() => s.addPeer({ address: '10.0.0.2', remoteAs: 1, holdTime: 2 })),
      'peer.holdTime',
    );
    assert.equal(
      field(() => s.addPeer({ address: '10.0.0.2', remoteAs: 1, families: ['ipv5-unicast' as 'ipv4-unicast'] })),
      'peer.families',
    );
    assert.equal(
      field(() => s.addPeer({ address: '10.0.0.2', remoteAs: 1, gracefulRestart: { restartTime: 5000 } })),
      'peer.gracefulRestart.restartTime',
    );
    s.addPeer({ address: '10.0.0.2', remoteAs: 1 });
    assert.throws(() => s.addPeer({ address: '10.0.0.2', remoteAs: 1 }), AlreadyExistsError);
    assert.throws(() => s.send('10.0.0.3', new Uint8Array()), NotFoundError);
    assert.throws(() => s.send('10.0.0.2', new Uint8Array()), FailedPreconditionError);
    assert.throws(() => s.refresh('10.0.0.2', 1), FailedPreconditionError);
  });
});

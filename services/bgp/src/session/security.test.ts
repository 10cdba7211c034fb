// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) between two of our speakers over real TCP on loopback
// (no root needed: each speaker binds its own 127.3.x.y). The native addon must be built: these
// tests fail, not skip, without it (infra/install.sh builds it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { poll, waitForPeerState } from '../../../testing/index.js';
import { sockoptAddon } from '../sockopt/index.js';
import { BgpSpeaker, type PeerConfig } from './index.js';

const open: BgpSpeaker[] = [];
let subnet = 0;

after(async () => {
  await Promise.all(open.map((s) => s.close().catch(() => undefined)));
});

/** A listens (passive towards B), B connects; each side's peer options given. */
async function pair(
  aPeer: Partial<PeerConfig>,
  bPeer: Partial<PeerConfig>,
): Promise<{ a: BgpSpeaker; b: BgpSpeaker; aAddr: string; bAddr: string }> {
  subnet++;
  const aAddr = `127.3.${subnet}.1`;
  const bAddr = `127.3.${subnet}.2`;
  const a = new BgpSpeaker({ localAs: 65001, routerId: '10.0.0.1', listen: { address: aAddr, port: 0 } });
  open.push(a);
  a.addPeer({ address: bAddr, remoteAs: 65002, passive: true, idleHold: { min: 0.1, max: 0.5 }, ...aPeer });
  await a.start();
  const b = new BgpSpeaker({ localAs: 65002, routerId: '10.0.0.2', listen: false });
  open.push(b);
  b.addPeer({
    address: aAddr,
    port: a.listenPort!,
    localAddress: bAddr,
    remoteAs: 65001,
    connectRetryTime: 0.3,
    idleHold: { min: 0.1, max: 0.5 },
    ...bPeer,
  });
  await b.start();
  return { a, b, aAddr, bAddr };
}

/** B's SYNs go unanswered, and a while later no session has ever come up on either side. */
async function staysDown(a: BgpSpeaker, aAddr: string, b: BgpSpeaker, bAddr: string): Promise<void> {
  await poll(
    'B reports its SYNs unanswered',
    async () =>
      b.peer(aAddr)!.lastError?.includes('no answer (TCP-MD5 is on') || b.peer(aAddr)!.lastError?.includes('dropped')
        ? true
        : undefined,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 2000));
  assert.notEqual(a.peer(bAddr)!.state, 'Established');
  assert.notEqual(b.peer(aAddr)!.state, 'Established');
  assert.equal(a.peer(bAddr)!.flaps + b.peer(aAddr)!.flaps, 0, 'no session ever came up');
  assert.equal(a.peer(bAddr)!.messages.received.OPEN ?? 0, 0, 'A never got an OPEN');
}

describe('BGP session security (loopback)', () => {
  before(() => {
    const a = sockoptAddon();
    assert.ok(
      'addon' in a,
      `the native socket-option addon must be built for these tests: ${'reason' in a ? a.reason : ''}`,
    );
  });

  test('TCP-MD5: the same key on both sides gives a session', async () => {
    const { a, b, aAddr, bAddr } = await pair(
      { tcpMd5: { key: 'rack-a secret' } },
      { tcpMd5: { key: Buffer.from('rack-a secret') } },
    );
    await waitForPeerState(a, bAddr, 'Established', 15_000);
    await waitForPeerState(b, aAddr, 'Established', 15_000);
  });

  test('TCP-MD5: a wrong key, or none, gives no session (the kernel drops the SYNs)', async () => {
    const wrong = await pair({ tcpMd5: { key: 'right' } }, { tcpMd5: { key: 'wrong' } });
    await staysDown(wrong.a, wrong.aAddr, wrong.b, wrong.bAddr);
    const none = await pair({ tcpMd5: { key: 'right' } }, {});
    await poll(
      'unsigned SYNs unanswered',
      async () => (none.b.peer(none.aAddr)!.lastError?.includes('no answer') ? true : undefined),
      20_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(none.a.peer(none.bAddr)!.flaps + none.b.peer(none.aAddr)!.flaps, 0);
    assert.equal(none.a.peer(none.bAddr)!.messages.received.OPEN ?? 0, 0);
  });

  test('TCP-MD5: a key that could not be had keeps the peer down with the reason, both ways', async () => {
    const reason = 'secret bgp-secrets/rack-a: /etc/meshless/bgp-secrets/bgp-secrets/rack-a is missing';
    const { a, b, aAddr, bAddr } = await pair({ tcpMd5: { error: reason } }, { tcpMd5: { error: reason } });
    assert.equal(a.peer(bAddr)!.lastError, `TCP-MD5 key unavailable: ${reason}`);
    await poll(
      'B gives up connecting with the reason',
      async () => (b.peer(aAddr)!.lastError?.includes(reason) ? true : undefined),
      10_000,
    );
    // B without a key now connects: A must drop the unsigned connection, not accept it.
    b.updatePeer(aAddr, { tcpMd5: undefined });
    await poll(
      'A drops the unsigned connection',
      async () => (a.peer(bAddr)!.lastError?.includes('dropped: TCP-MD5 required') ? true : undefined),
      10_000,
    );
    assert.equal(a.peer(bAddr)!.flaps, 0);
    assert.notEqual(a.peer(bAddr)!.state, 'Established');
  });

  test('TCP-MD5: changing the key resets the session and it comes back with the new key', async () => {
    const { a, b, aAddr, bAddr } = await pair({ tcpMd5: { key: 'one' } }, { tcpMd5: { key: 'one' } });
    await waitForPeerState(b, aAddr, 'Established', 15_000);
    a.updatePeer(bAddr, { tcpMd5: { key: 'two' } });
    b.updatePeer(aAddr, { tcpMd5: { key: 'two' } });
    await poll(
      'session back with the new key',
      async () => (b.peer(aAddr)!.flaps >= 1 && b.peer(aAddr)!.state === 'Established' ? true : undefined),
      15_000,
    );
  });

  test('GTSM: both sides at TTL 255 get a session; a peer sending TTL 64 is dropped', async () => {
    const ok = await pair({ ttlSecurity: 1 }, { ttlSecurity: 1 });
    await waitForPeerState(ok.a, ok.bAddr, 'Established', 15_000);
    await waitForPeerState(ok.b, ok.aAddr, 'Established', 15_000);
    // B without GTSM sends with the default TTL (64): as if it were 191 hops away.
    const far = await pair({ ttlSecurity: 1 }, {});
    await poll(
      'A drops the low-TTL connection',
      async () => (far.a.peer(far.bAddr)!.lastError?.includes('arrived with TTL 64, below 255') ? true : undefined),
      15_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(far.a.peer(far.bAddr)!.flaps + far.b.peer(far.aAddr)!.flaps, 0);
    assert.equal(far.a.peer(far.bAddr)!.messages.received.OPEN ?? 0, 0, 'nothing read from the dropped connection');
  });

  test('TCP-MD5 and GTSM together', async () => {
    const { a, b, aAddr, bAddr } = await pair(
      { tcpMd5: { key: 'k' }, ttlSecurity: 2 },
      { tcpMd5: { key: 'k' }, ttlSecurity: 2 },
    );
    await waitForPeerState(a, bAddr, 'Established', 15_000);
    await waitForPeerState(b, aAddr, 'Established', 15_000);
  });

  test('bad settings name their field and never show the key', () => {
    const s = new BgpSpeaker({ localAs: 1, routerId: '10.0.0.1', listen: false });
    const err = (p: Partial<PeerConfig>): InvalidArgumentError => {
      try {
        s.addPeer({ address: '10.0.0.2', remoteAs: 2, ...p });
      } catch (e) {
        assert.ok(e instanceof InvalidArgumentError);
        return e;
      }
      assert.fail('accepted');
    };
    const long = err({ tcpMd5: { key: 'x'.repeat(81) } });
    assert.equal(long.field, 'peer.tcpMd5.key');
    assert.doesNotMatch(long.message, /xxx/);
    assert.equal(err({ tcpMd5: { key: '' } }).field, 'peer.tcpMd5.key');
    assert.equal(err({ ttlSecurity: 256 }).field, 'peer.ttlSecurity');
    assert.equal(err({ ttlSecurity: 1.5 }).field, 'peer.ttlSecurity');
    assert.throws(
      () =>
        new BgpSpeaker({
          localAs: 1,
          routerId: '10.0.0.1',
          dynamicPeers: [{ prefix: '10.1.0.0/16', remoteAs: 2, template: { ttlSecurity: 1 } as never }],
        }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'dynamicPeers[0].template',
    );
  });

  test('a listener without an address binds the router id, not every address', async () => {
    const s = new BgpSpeaker({ localAs: 1, routerId: '127.3.200.1', listen: { port: 0 } as never });
    open.push(s);
    await s.start();
    const server = (s as unknown as { server: import('node:net').Server }).server;
    assert.equal((server.address() as { address: string }).address, '127.3.200.1');
  });
});

// RFC 4271 §6.8 over real TCP on loopback, made deterministic: two of our speakers connect to each
// other at once, and each sees the other's connection arrive before its own connect completes (a
// transport holds each connected socket back from its speaker until both speakers have taken the
// other's connection in). Both must close the same connection, the one opened by the speaker with
// the lower BGP Identifier, and keep the other: no retry, no idle hold. (Before, each closed its
// own pending connect on the incoming one, so each closed a different connection and none was
// left: a 5 s idle hold, seen once in 10 runs of the TCP-MD5 test.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server, Socket } from 'node:net';
import { poll, waitForPeerState } from '../../../testing/index.js';
import { BgpSpeaker, netTransport, type BgpTransport, type ConnectOptions, type ListenOptions } from './index.js';

/** Real sockets; connected ones wait at a gate before the speaker gets them. */
class GatedTransport implements BgpTransport {
  readonly dialed: Socket[] = [];
  readonly accepted: Socket[] = [];
  release!: () => void;
  private readonly gate = new Promise<void>((r) => (this.release = r));

  async listen(options: ListenOptions): Promise<Server> {
    const server = await netTransport.listen(options);
    server.prependListener('connection', (s: Socket) => this.accepted.push(s));
    return server;
  }

  async connect(options: ConnectOptions): Promise<Socket> {
    const socket = await netTransport.connect(options);
    this.dialed.push(socket);
    await this.gate;
    return socket;
  }
}

const speakers: BgpSpeaker[] = [];
after(async () => {
  await Promise.all(speakers.map((s) => s.close().catch(() => undefined)));
});

test("simultaneous open: both speakers close the same connection (the lower identifier's) and keep one session", async () => {
  const [x, y] = ['127.1.250.1', '127.1.250.2'];
  const tx = new GatedTransport();
  const ty = new GatedTransport();
  // sy has the higher BGP Identifier: the connection sy opened is the one both must keep.
  const sx = new BgpSpeaker({ localAs: 65001, routerId: '10.0.0.1', listen: { address: x, port: 0 }, transport: tx });
  const sy = new BgpSpeaker({ localAs: 65002, routerId: '10.0.0.2', listen: { address: y, port: 0 }, transport: ty });
  speakers.push(sx, sy);
  await sx.start();
  await sy.start();
  const peer = { holdTime: 3, connectRetryTime: 0.5, idleHold: { min: 5, max: 5 } };
  sx.addPeer({ address: y, port: sy.listenPort!, localAddress: x, remoteAs: 65002, ...peer });
  sy.addPeer({ address: x, port: sx.listenPort!, localAddress: y, remoteAs: 65001, ...peer });

  // Both TCP connections are up in the kernel; each speaker has taken in the other's (OpenSent on
  // it) while its own connect has not completed for it yet.
  await poll(
    "each speaker holding the other's connection, its own still connecting",
    async () =>
      tx.dialed.length === 1 &&
      ty.dialed.length === 1 &&
      sx.peer(y)?.state === 'OpenSent' &&
      sy.peer(x)?.state === 'OpenSent'
        ? true
        : undefined,
    10_000,
  );
  tx.release();
  ty.release();

  await waitForPeerState(sx, y, 'Established', 20_000);
  await waitForPeerState(sy, x, 'Established', 20_000);
  const open = (sockets: Socket[]) => sockets.filter((s) => !s.destroyed);
  await poll(
    'the losing connection closed on both sides',
    async () =>
      open([...tx.dialed, ...tx.accepted]).length === 1 && open([...ty.dialed, ...ty.accepted]).length === 1
        ? true
        : undefined,
    10_000,
  );
  // The survivor is the connection sy opened: sx accepted it, sy dialed it; the same TCP connection.
  const [kept] = open(tx.accepted);
  const [dialed] = open(ty.dialed);
  assert.ok(kept && dialed, 'sx keeps the connection it accepted, sy the one it dialed');
  assert.equal(kept.remotePort, dialed.localPort);
  assert.equal(kept.localPort, dialed.remotePort);
  assert.deepEqual(open(tx.dialed), [], "sx's own connection (the lower identifier's) is closed");
  // Nobody had to try again or wait out an idle hold.
  assert.equal(tx.dialed.length, 1, 'sx connected once');
  assert.equal(ty.dialed.length, 1, 'sy connected once');
  assert.equal(sx.peer(y)!.flaps, 0);
  assert.equal(sy.peer(x)!.flaps, 0);
});

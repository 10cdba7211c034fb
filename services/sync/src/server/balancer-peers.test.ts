// The balancer against peers on a real nats-server: a peer that dies while its clients move to us
// is never sent clients back (its last heartbeat still counts them until it expires), and a live
// peer with fewer clients is given some once our count has stopped growing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Subjects, connectNats, type NatsConnection } from '../../../shared/nats/index.js';
import { startNatsServer, waitFor, type NatsServerHandle } from '../../../shared/testing/index.js';
import { Balancer, type Heartbeat } from './balancer.js';

const INTERVAL_MS = 100;

let nats: NatsServerHandle;
let nc: NatsConnection;

before(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'balancer-test');
});

after(async () => {
  await nc.close();
  await nats.stop();
});

/** A peer's heartbeats: one now, then one per interval until stopped. */
function peer(hb: Heartbeat): { stop(): void } {
  const send = () => nc.publish(Subjects.syncHeartbeat, JSON.stringify(hb));
  send();
  const timer = setInterval(send, INTERVAL_MS);
  return { stop: () => clearInterval(timer) };
}

/** A balancer for a server holding `connections()` clients; records every shed and its target. */
function survivor(connections: () => number) {
  const sheds: Array<{ count: number; to: string | undefined }> = [];
  const balancer: Balancer = new Balancer(
    {
      nc,
      serverId: 'survivor',
      address: '127.0.0.1:1',
      intervalMs: INTERVAL_MS,
      shedPerTick: 10,
      slack: 0.05,
      log: pino({ level: 'silent' }),
    },
    {
      connections,
      ready: () => true,
      draining: () => false,
      shed: (count) => {
        sheds.push({ count, to: balancer.suggest() });
        return count;
      },
    },
  );
  return { balancer, sheds };
}

test('a dead peer whose clients arrive here is never sent any back; a live one is, once growth stops', async () => {
  let own = 100;
  const { balancer, sheds } = survivor(() => own);
  balancer.start();
  try {
    const dead = peer({ id: 'dead', address: '127.0.0.1:2', connections: 100, ready: true, draining: false });
    await waitFor('the peer counted', () => balancer.readyPeers().length === 1, 10_000);
    // kill -9: its heartbeats stop, its 100 clients resume here.
    dead.stop();
    own = 200;
    await waitFor('the dead peer expired', () => balancer.readyPeers().length === 0, 10_000);
    assert.equal(sheds.length, 0, `no client sent to a peer that stopped reporting: ${JSON.stringify(sheds)}`);

    // A live peer with no clients: we hold 200, the fair share is 100: we shed to it.
    const live = peer({ id: 'live', address: '127.0.0.1:3', connections: 0, ready: true, draining: false });
    try {
      await waitFor('clients shed to the live peer', () => sheds.length > 0, 10_000);
      assert.ok(
        sheds.every((s) => s.to === '127.0.0.1:3' && s.count <= 10),
        JSON.stringify(sheds),
      );
    } finally {
      live.stop();
    }
  } finally {
    balancer.stop();
  }
});

// Keepalives never starve: 200,000 prefixes in each direction between our speaker and BIRD with
// a 3 s hold time, repeated (we re-send our table, BIRD re-sends its table on ROUTE-REFRESH) until
// several KEEPALIVEs went each way under load. The assertions are on events: no hold-timer
// expiry on either side, no session flap, every prefix counted on arrival.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { encodeAttributes, makePrefix, packUpdates, type Prefix } from '../codec/index.js';
import {
  createNetns,
  netnsSkipReason,
  originAttributes,
  poll,
  startBird,
  waitForPeerState,
  type BirdHandle,
  type Netns,
  type NetnsTransport,
} from '../../../testing/index.js';
import { BgpSpeaker, type SessionDownEvent } from './index.js';

const PREFIXES = 200_000;

function birdMissing(): string | undefined {
  try {
    execFileSync('bird', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'bird is not installed (Debian package bird2)';
  }
}

/** `count` distinct /26 prefixes starting at first.0.0.0. */
function table(first: number, count: number): Prefix[] {
  const out: Prefix[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const n = i * 64;
    out[i] = makePrefix(4, new Uint8Array([first + (n >>> 24), (n >>> 16) & 255, (n >>> 8) & 255, n & 255]), 26);
  }
  return out;
}

describe('a large table with a 3 s hold time', { skip: netnsSkipReason() ?? birdMissing() ?? false }, () => {
  let ns: Netns;
  let transport: NetnsTransport;
  let bird: BirdHandle;
  let speaker: BgpSpeaker;
  let ours: string;
  let theirs: string;
  const downs: SessionDownEvent[] = [];
  let received = 0;
  let refreshEnds = 0;

  before(async () => {
    ns = await createNetns();
    transport = await ns.transport();
    theirs = await ns.addAddress(4);
    ours = await ns.addAddress(4);
    const routes = table(10, PREFIXES)
      .map((p) => `route ${p.bytes.join('.')}/26 blackhole;`)
      .join('\n');
    bird = await startBird({
      netns: ns,
      address: theirs,
      config: `router id ${theirs};
protocol device {}
protocol static big { ipv4; ${routes} }
protocol bgp peer1 { local ${theirs} as 65001; neighbor ${ours} as 65000; multihop; strict bind; hold time 3; connect delay time 1; ipv4 { import all; export all; }; }`,
    });
    speaker = new BgpSpeaker({ localAs: 65000, routerId: ours, listen: { address: ours, port: 179 }, transport });
    speaker.addPeer({ address: theirs, remoteAs: 65001, localAddress: ours, holdTime: 3, families: ['ipv4-unicast'] });
    speaker.on('sessionDown', (e) => downs.push(e));
    speaker.on('update', ({ update }) => (received += update.nlri.length));
    speaker.on('routeRefresh', (e) => (e.kind === 'end' ? refreshEnds++ : undefined));
    await speaker.start();
    await waitForPeerState(speaker, theirs, 'Established');
  });

  after(async () => {
    await speaker?.close();
    await bird?.stop();
    await transport?.close();
    await ns?.destroy();
  });

  test('200k prefixes each way, repeatedly, without a hold timer expiry', async (t) => {
    const negotiated = speaker.negotiated(theirs)!;
    assert.equal(negotiated.holdTime, 3);
    const messages = packUpdates(
      table(20, PREFIXES),
      encodeAttributes(originAttributes(65000, { nextHop: ours }), negotiated),
      negotiated,
    );
    const kaSent0 = speaker.peer(theirs)!.messages.sent.KEEPALIVE ?? 0;
    const kaRecv0 = speaker.peer(theirs)!.messages.received.KEEPALIVE ?? 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    let rounds = 0;
    for (; rounds < 30; rounds++) {
      const endsBefore = refreshEnds;
      if (rounds > 0) speaker.refresh(theirs, 1);
      await speaker.sendAll(theirs, messages);
      await poll(
        `BIRD importing our ${PREFIXES} prefixes (round ${rounds})`,
        async () => ((await bird.protocol('peer1')).channels.ipv4?.imported === PREFIXES ? true : undefined),
        60_000,
        () => JSON.stringify(speaker.peer(theirs)),
      );
      // Round 0 counts BIRD's initial table; each later round the table it re-sends on our ROUTE-REFRESH.
      await poll(
        `BIRD's ${PREFIXES} prefixes arriving (round ${rounds})`,
        async () =>
          received >= PREFIXES * (rounds + 1) && (rounds === 0 || refreshEnds > endsBefore) ? true : undefined,
        60_000,
        () => `received ${received}, refresh ends ${refreshEnds - endsBefore}`,
      );
      assert.deepEqual(downs, [], 'no session loss');
      const s = speaker.peer(theirs)!.messages;
      if ((s.sent.KEEPALIVE ?? 0) - kaSent0 >= 4 && (s.received.KEEPALIVE ?? 0) - kaRecv0 >= 4) break;
    }
    loopDelay.disable();
    const status = speaker.peer(theirs)!;
    // Reported, not asserted: the longest the event loop was held while tables were in flight.
    t.diagnostic(
      `${rounds + 1} rounds, ${status.messages.sent.KEEPALIVE} KEEPALIVEs sent, ${status.messages.received.KEEPALIVE} received, ${received} prefixes received; event loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`,
    );
    assert.ok((status.messages.sent.KEEPALIVE ?? 0) - kaSent0 >= 4, 'KEEPALIVEs kept going out under load');
    assert.equal(status.state, 'Established');
    assert.equal(status.flaps, 0);
    assert.equal(status.notifications.lastSent, undefined);
    assert.equal(status.notifications.lastReceived, undefined);
    const p = await bird.protocol('peer1');
    assert.equal(p.bgpState, 'Established');
    assert.equal(p.lastError, undefined, `BIRD saw no error (${p.lastError})`);
  });
});

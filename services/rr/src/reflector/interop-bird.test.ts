// The reflector against real BIRD 2 clients and a BIRD "switch", in a network namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  birdConfig,
  birdSkipReason,
  blocks,
  createNetns,
  netnsSkipReason,
  peer,
  poll,
  reflectorSettings,
  startBird,
  startReflector,
  type BirdHandle,
  type Netns,
} from '../testing/lab.js';
import { parseBgpFilter } from '../policy/filter.js';
import { parsePrefix } from '../../../bgp/index.js';
import type { Reflector } from './reflector.js';

const skip = netnsSkipReason() ?? birdSkipReason();
const T = 30_000;

async function prefixesAt(b: BirdHandle, protocol: string): Promise<Set<string>> {
  return new Set((await routesAt(b, { protocol })).map((r) => r.prefix));
}

/** `show route` that treats BIRD's "Network not found" as no route. */
async function routesAt(b: BirdHandle, q: { prefix?: string; protocol?: string }): ReturnType<BirdHandle['routes']> {
  try {
    return await b.routes(q);
  } catch (err) {
    if (/Network not found/.test((err as Error).message)) return [];
    throw err;
  }
}

describe('reflector with BIRD clients', { skip, timeout: 120_000 }, () => {
  let ns: Netns;
  let rr: Reflector;
  let rrAddr: string;
  const birds: BirdHandle[] = [];
  let a: BirdHandle;
  let b: BirdHandle;
  let c: BirdHandle;
  let addrs: string[];

  before(async () => {
    ns = await createNetns('rrbird');
    rrAddr = await ns.addAddress();
    addrs = [await ns.addAddress(), await ns.addAddress(), await ns.addAddress()];
    rr = await startReflector(ns, reflectorSettings(rrAddr), [
      peer(addrs[0]!),
      peer(addrs[1]!),
      peer(addrs[2]!, { addPaths: 'tx' }),
    ]);
    const client = (i: number, statics: string[], ipv4?: string) =>
      startBird({
        netns: ns,
        address: addrs[i]!,
        config: birdConfig({
          routerId: addrs[i]!,
          as: 65000,
          statics,
          neighbors: [{ name: 'refl', address: rrAddr, as: 65000, ...(ipv4 ? { ipv4 } : {}) }],
        }),
      });
    a = await client(0, ['10.1.0.0/26', '10.1.0.64/26', '10.9.0.0/24']);
    b = await client(1, ['10.9.0.0/24']);
    c = await client(2, [], 'import all; export all; add paths rx;');
    birds.push(a, b, c);
    for (const x of birds) await x.waitForState('refl', 'Established', T);
  });

  after(async () => {
    for (const x of birds) await x.stop();
    await rr?.close();
    await ns?.destroy();
  });

  it('routes from one client reach the others with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const r = await poll(
      '10.1.0.0/26 at client b',
      async () => (await b.routes({ prefix: '10.1.0.0/26', protocol: 'refl' }))[0],
      T,
    );
    assert.equal(r.attributes['BGP.originator_id'], addrs[0]);
    assert.equal(r.attributes['BGP.cluster_list'], rrAddr);
    assert.equal(r.attributes['BGP.next_hop'], addrs[0]);
    // a's own path to 10.9.0.0/24 is the best (lower router id): a gets nothing back, b gets a's.
    assert.deepEqual(await prefixesAt(a, 'refl'), new Set(), 'nothing is reflected back to its source');
    assert.equal(
      (await b.routes({ prefix: '10.9.0.0/24', protocol: 'refl' }))[0]?.attributes['BGP.originator_id'],
      addrs[0],
    );
  });

  it('an ADD-PATH client receives every path of a prefix', async () => {
    const paths = await poll(
      'two paths of 10.9.0.0/24 at client c',
      async () => {
        const rs = await c.routes({ prefix: '10.9.0.0/24', protocol: 'refl' });
        return rs.length === 2 ? rs : undefined;
      },
      T,
    );
    assert.deepEqual(paths.map((p) => p.attributes['BGP.next_hop']).sort(), [addrs[0], addrs[1]].sort());
  });

  it('a withdrawal propagates to every client', async () => {
    await a.reconfigure(
      birdConfig({
        routerId: addrs[0]!,
        as: 65000,
        statics: ['10.1.0.0/26'],
        neighbors: [{ name: 'refl', address: rrAddr, as: 65000 }],
      }),
    );
    await poll(
      "10.1.0.64/26 and a's 10.9.0.0/24 withdrawn",
      async () => {
        const atB = await prefixesAt(b, 'refl');
        const atC = await routesAt(c, { prefix: '10.9.0.0/24', protocol: 'refl' });
        return !atB.has('10.1.0.64/26') && atB.has('10.1.0.0/26') && atC.length === 1 ? true : undefined;
      },
      T,
    );
    assert.equal(rr.rib.lookup(parsePrefix('10.1.0.64/26')), -1, 'the reflector dropped the destination');
  });
});

describe('two reflectors sharing one cluster id', { skip, timeout: 120_000 }, () => {
  let ns: Netns;
  const rrs: Reflector[] = [];
  const birds: BirdHandle[] = [];

  after(async () => {
    for (const x of birds) await x.stop();
    for (const r of rrs) await r.close();
    await ns?.destroy();
  });

  it('do not loop: each keeps only the client path, and a withdrawal leaves nothing behind', async () => {
    ns = await createNetns('rrpair');
    const [r1, r2, ca, cb] = [
      await ns.addAddress(),
      await ns.addAddress(),
      await ns.addAddress(),
      await ns.addAddress(),
    ];
    const cluster = '10.255.255.1';
    rrs.push(
      await startReflector(ns, reflectorSettings(r1, { clusterId: cluster }), [
        peer(r2, { rrClient: false }),
        peer(ca),
        peer(cb),
      ]),
    );
    rrs.push(
      await startReflector(ns, reflectorSettings(r2, { clusterId: cluster }), [
        peer(r1, { rrClient: false }),
        peer(ca),
        peer(cb),
      ]),
    );
    const neighbors = [
      { name: 'rr1', address: r1, as: 65000 },
      { name: 'rr2', address: r2, as: 65000 },
    ];
    const a = await startBird({
      netns: ns,
      address: ca,
      config: birdConfig({ routerId: ca, as: 65000, statics: ['10.7.0.0/26'], neighbors }),
    });
    const b = await startBird({ netns: ns, address: cb, config: birdConfig({ routerId: cb, as: 65000, neighbors }) });
    birds.push(a, b);
    for (const x of [a, b]) for (const n of ['rr1', 'rr2']) await x.waitForState(n, 'Established', T);
    const both = await poll(
      '10.7.0.0/26 at b from both reflectors',
      async () => {
        const rs = await b.routes({ prefix: '10.7.0.0/26' });
        return rs.length === 2 ? rs : undefined;
      },
      T,
    );
    for (const r of both) assert.equal(r.attributes['BGP.cluster_list'], cluster);
    for (const rr of rrs) {
      const d = rr.rib.lookup(parsePrefix('10.7.0.0/26'));
      assert.deepEqual(
        rr.rib.rankedRoutes(d).map((v) => v.peer.address),
        [ca],
        'the copy from the other reflector is dropped (own CLUSTER_ID)',
      );
    }
    await a.reconfigure(birdConfig({ routerId: ca, as: 65000, neighbors }));
    await poll(
      '10.7.0.0/26 gone everywhere',
      async () => ((await routesAt(b, { prefix: '10.7.0.0/26' })).length === 0 ? true : undefined),
      T,
    );
    for (const rr of rrs) assert.equal(rr.rib.lookup(parsePrefix('10.7.0.0/26')), -1);
  });
});

describe('eBGP to a BIRD switch, and a client flooding past max-prefix', { skip, timeout: 120_000 }, () => {
  let ns: Netns;
  let rr: Reflector;
  const birds: BirdHandle[] = [];

  after(async () => {
    for (const x of birds) await x.stop();
    await rr?.close();
    await ns?.destroy();
  });

  it('exports to the switch with our AS and next hop self; the flooder is ceased, others unaffected', async () => {
    ns = await createNetns('rrebgp');
    const [r, sw, ca, cb, fl, hostile] = [
      await ns.addAddress(),
      await ns.addAddress(),
      await ns.addAddress(),
      await ns.addAddress(),
      await ns.addAddress(),
      await ns.addAddress(),
    ];
    const all = parseBgpFilter('all', { importV4: [{ action: 'Accept' }], exportV4: [{ action: 'Accept' }] });
    rr = await startReflector(ns, reflectorSettings(r, { maxPrefixRestartTime: 3600 }), [
      peer(sw, { asNumber: 65100, filters: [all] }),
      peer(ca),
      peer(cb),
      peer(fl, { maxPrefixes: 100 }),
      peer(hostile, { passive: true }),
    ]);
    const rrN = (as = 65000) => [{ name: 'refl', address: r, as }];
    const swB = await startBird({
      netns: ns,
      address: sw,
      config: birdConfig({ routerId: sw, as: 65100, statics: ['192.0.2.0/24'], neighbors: rrN() }),
    });
    const a = await startBird({
      netns: ns,
      address: ca,
      config: birdConfig({ routerId: ca, as: 65000, statics: ['10.1.0.0/26'], neighbors: rrN() }),
    });
    const b = await startBird({
      netns: ns,
      address: cb,
      config: birdConfig({ routerId: cb, as: 65000, neighbors: rrN() }),
    });
    birds.push(swB, a, b);
    for (const x of [swB, a, b]) await x.waitForState('refl', 'Established', T);

    const atSwitch = await poll(
      '10.1.0.0/26 at the switch',
      async () => (await swB.routes({ prefix: '10.1.0.0/26', protocol: 'refl' }))[0],
      T,
    );
    assert.equal(atSwitch.attributes['BGP.as_path'], '65000');
    assert.equal(atSwitch.attributes['BGP.next_hop'], r);
    assert.equal(atSwitch.attributes['BGP.originator_id'], undefined);
    const fromSwitch = await poll(
      '192.0.2.0/24 at client b',
      async () => (await b.routes({ prefix: '192.0.2.0/24', protocol: 'refl' }))[0],
      T,
    );
    assert.equal(fromSwitch.attributes['BGP.as_path'], '65100');
    assert.equal(fromSwitch.attributes['BGP.originator_id'], undefined, 'eBGP-learned routes are not reflected routes');

    const flood = blocks(500);
    const f = await startBird({
      netns: ns,
      address: fl,
      config: birdConfig({ routerId: fl, as: 65000, statics: flood, neighbors: rrN() }),
    });
    birds.push(f);
    const p = await poll(
      'the flooder ceased',
      async () => {
        const s = await f.protocol('refl');
        return /maximum number of prefixes/i.test(s.lastError ?? '') ? s : undefined;
      },
      T,
    );
    assert.notEqual(p.bgpState, 'Established');
    assert.equal(rr.ribPeer(fl).count, 0, 'its routes are gone from the RIB');
    for (const x of [swB, a, b]) assert.equal((await x.protocol('refl')).bgpState, 'Established');
    await poll(
      'no flooded prefix left at b',
      async () =>
        (await routesAt(b, { protocol: 'refl' })).some((x) => x.prefix.startsWith('10.100.')) ? undefined : true,
      T,
    );
    assert.ok((await b.routes({ prefix: '10.1.0.0/26', protocol: 'refl' })).length === 1);

    // A configured peer that sends garbage gets a NOTIFICATION and is closed; nobody else notices.
    const transport = await ns.transport();
    const sock = await transport.connect({ host: r, port: 179, localAddress: hostile, timeoutMs: 5000 });
    const closed = new Promise<Buffer>((resolve) => {
      const got: Buffer[] = [];
      sock.on('data', (c: Buffer) => got.push(c));
      sock.on('close', () => resolve(Buffer.concat(got)));
      sock.on('error', () => undefined);
    });
    sock.write(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 255)));
    const reply = await closed;
    const types: number[] = [];
    for (let o = 0; o + 19 <= reply.length; o += reply.readUInt16BE(o + 16)) types.push(reply[o + 18]!);
    assert.ok(types.includes(3), `a NOTIFICATION came back before the close (message types ${types.join(', ')})`);
    for (const x of [swB, a, b]) assert.equal((await x.protocol('refl')).bgpState, 'Established');
    assert.equal(rr.ribPeer(hostile).count, 0);
  });
});

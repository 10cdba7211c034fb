// Datastore mode end to end: real nats-server, datastore, sync server, the reflector as a `bgp`
// sync client, and BIRD "switches" (eBGP and iBGP) in a network namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipamBlockName } from '../../../shared/resources/index.js';
import { createLogger } from '../../../shared/log/index.js';
import type { DatastoreClient } from '../../../shared/datastore-client/index.js';
import {
  birdConfig,
  birdSkipReason,
  createNetns,
  netnsSkipReason,
  poll,
  startBird,
  type BirdHandle,
  type Netns,
} from '../testing/lab.js';
import { res, startTestControlPlane, type TestControlPlane } from '../testing/control-plane.js';
import { startDatastoreMode, type DatastoreHandle } from './datastore.js';

const skip = netnsSkipReason() ?? birdSkipReason();
const T = 30_000;
const log = createLogger('rr-ds-test');

async function routesAt(b: BirdHandle, prefix?: string): ReturnType<BirdHandle['routes']> {
  try {
    return await b.routes({ protocol: 'refl', ...(prefix ? { prefix } : {}) });
  } catch (err) {
    if (/Network not found/.test((err as Error).message)) return [];
    throw err;
  }
}

describe('datastore mode: IPAM blocks from the datastore reach BIRD switches', { skip, timeout: 180_000 }, () => {
  let cp: TestControlPlane;
  let client: DatastoreClient;
  let ns: Netns;
  let rr: DatastoreHandle;
  let ebgp: BirdHandle;
  let ibgp: BirdHandle;
  let rrAddr: string;
  let ebgpAddr: string;
  let ibgpAddr: string;
  let secretsDir: string;
  const extraBirds: BirdHandle[] = [];
  const nodes = ['198.18.1.1', '198.18.1.2'];

  before(async () => {
    cp = await startTestControlPlane('rr-test', log);
    client = cp.client;
    ns = await createNetns('rrds');
    [rrAddr, ebgpAddr, ibgpAddr] = [await ns.addAddress(), await ns.addAddress(), await ns.addAddress()];

    await client.apply(
      res('BGPConfiguration', 'default', {
        asNumber: 64512,
        bindMode: 'NodeIP',
        communities: [{ name: 'pods', value: '64512:300' }],
        prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['pods'] }],
      }),
    );
    await client.apply(res('IPPool', 'pods', { cidr: '10.244.0.0/16' }));
    await client.apply(
      res(
        'Node',
        'rr-0',
        { bgp: { ipv4Address: `${rrAddr}/32`, routeReflectorClusterID: '224.0.0.1' } },
        { 'route-reflector': 'true' },
      ),
    );
    for (const [i, a] of nodes.entries())
      await client.apply(res('Node', `node-${i}`, { bgp: { ipv4Address: `${a}/24` } }));
    await client.apply(
      res('BGPPeer', 'tor-ebgp', { nodeSelector: 'has(route-reflector)', peerIP: ebgpAddr, asNumber: 65100 }),
    );
    await client.apply(
      res('BGPPeer', 'tor-ibgp', { nodeSelector: 'has(route-reflector)', peerIP: ibgpAddr, asNumber: 64512 }),
    );
    await client.allocateBlock('node-0');

    secretsDir = mkdtempSync(join(tmpdir(), 'rr-bgp-secrets-'));
    rr = await startDatastoreMode({
      node: 'rr-0',
      syncEndpoints: [cp.sync],
      datastore: cp.datastore,
      adminListen: false,
      metricsPort: false,
      transport: await ns.transport(),
      logger: log,
      bgpSecretsDir: secretsDir,
      secretsRecheckMs: 500,
    });
    await rr.ready();
    const sw = (addr: string, as: number, statics: string[]) =>
      startBird({
        netns: ns,
        address: addr,
        config: birdConfig({ routerId: addr, as, statics, neighbors: [{ name: 'refl', address: rrAddr, as: 64512 }] }),
      });
    ebgp = await sw(ebgpAddr, 65100, ['192.0.2.0/24']);
    ibgp = await sw(ibgpAddr, 64512, []);
    await ebgp.waitForState('refl', 'Established', T);
    await ibgp.waitForState('refl', 'Established', T);
  });

  after(async () => {
    for (const b of extraBirds) await b.stop();
    await ebgp?.stop();
    await ibgp?.stop();
    await rr?.close();
    await ns?.destroy();
    await cp?.stop();
  });

  it('the node block appears at both switches with the node as next hop and the prefixAdvertisement community', async () => {
    const block = [...rr.derived!.routes.keys()][0]!;
    assert.match(block, /^10\.244\./);
    for (const [sw, asPath] of [
      [ebgp, '64512'],
      [ibgp, ''],
    ] as const) {
      const r = await poll(`${block} at ${sw.address}`, async () => (await routesAt(sw, block))[0], T);
      assert.equal(r.attributes['BGP.next_hop'], nodes[0]);
      assert.equal(r.attributes['BGP.as_path'] ?? '', asPath);
      assert.match(r.attributes['BGP.community'] ?? '', /\(64512,300\)/);
    }
  });

  it("live: a new block appears, a deleted node's blocks are withdrawn, sessions are not reset", async () => {
    const since = rr.reflector.speaker.peer(ebgpAddr)!.establishedAt;
    const { affinity } = await client.allocateBlock('node-1');
    const cidr = (affinity.spec as { cidr: string }).cidr;
    const r = await poll(`${cidr} at the eBGP switch`, async () => (await routesAt(ebgp, cidr))[0], T);
    assert.equal(r.attributes['BGP.next_hop'], nodes[1]);
    await client.delete('Node', 'node-1');
    await poll(
      `${cidr} withdrawn`,
      async () =>
        (await routesAt(ebgp, cidr)).length === 0 && (await routesAt(ibgp, cidr)).length === 0 ? true : undefined,
      T,
    );
    await client.apply(
      res('BGPPeer', 'extra', { nodeSelector: 'has(route-reflector)', peerIP: '198.18.9.9', asNumber: 65200 }),
    );
    await poll('the new peer configured', async () => (rr.reflector.speaker.peer('198.18.9.9') ? true : undefined), T);
    assert.equal(rr.reflector.speaker.peer(ebgpAddr)!.establishedAt, since, 'adding a peer reset no other session');
    assert.equal(rr.reflector.speaker.peer(ebgpAddr)!.flaps, 0);
  });

  it('live: a BGPConfiguration change re-advertises with new communities; a BGPPeer change resets only its session', async () => {
    const block = [...rr.derived!.routes.keys()][0]!;
    const ibgpSince = rr.reflector.speaker.peer(ibgpAddr)!.establishedAt;
    await client.apply(
      res('BGPConfiguration', 'default', {
        asNumber: 64512,
        bindMode: 'NodeIP',
        prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['64512:301', '64512:1:2'] }],
      }),
    );
    const r = await poll(
      'new communities at the eBGP switch',
      async () => {
        const x = (await routesAt(ebgp, block))[0];
        return x && /\(64512,301\)/.test(x.attributes['BGP.community'] ?? '') ? x : undefined;
      },
      T,
    );
    assert.match(r.attributes['BGP.large_community'] ?? '', /\(64512, 1, 2\)/);
    assert.doesNotMatch(r.attributes['BGP.community'] ?? '', /\(64512,300\)/);
    const ebgpFlaps = rr.reflector.speaker.peer(ebgpAddr)!.flaps;
    await client.apply(
      res('BGPPeer', 'tor-ebgp', {
        nodeSelector: 'has(route-reflector)',
        peerIP: ebgpAddr,
        asNumber: 65100,
        nextHopMode: 'Self',
      }),
    );
    const again = await poll(
      'the eBGP switch session reset and the block back with next hop self',
      async () => {
        const x = (await routesAt(ebgp, block))[0];
        return rr.reflector.speaker.peer(ebgpAddr)!.flaps > ebgpFlaps && x?.attributes['BGP.next_hop'] === rrAddr
          ? x
          : undefined;
      },
      T,
    );
    assert.ok(again);
    assert.equal(
      rr.reflector.speaker.peer(ibgpAddr)!.establishedAt,
      ibgpSince,
      'the iBGP switch session was not touched',
    );
  });

  it("an address of node-0's block used on node-2 (IPAM allocation): its /32 reaches the switch via node-2", async () => {
    const block = [...rr.derived!.routes.keys()].find((k) => k.endsWith('/26'))!;
    const ip = block.replace(/\.(\d+)\/26$/, (_m, last: string) => `.${Number(last) + 9}`);
    await client.apply(res('Node', 'node-2', { bgp: { ipv4Address: '198.18.1.3/24' } }));
    // What the CNI plugin's IPAM writes when node-2 borrows ordinal 9 of node-0's block.
    const stored = await client.get('IPAMBlock', ipamBlockName(block));
    type Spec = { allocations: (number | null)[]; unallocated: number[]; attributes: object[] };
    const original = structuredClone(stored.spec) as Spec;
    const spec = structuredClone(original);
    spec.attributes.push({
      handle_id: 'k8s-pod-network.borrower',
      secondary: { node: 'node-2', namespace: 'default', pod: 'borrower' },
    });
    spec.allocations[9] = spec.attributes.length - 1;
    spec.unallocated = spec.unallocated.filter((o) => o !== 9);
    await client.apply({ ...stored, spec });
    // The iBGP switch (the eBGP one is next-hop-self since the previous test).
    const r = await poll(
      `${ip}/32 at the iBGP switch`,
      async () => (await routesAt(ibgp, `${ip}/32`)).find((x) => x.prefix === `${ip}/32`),
      T,
    );
    assert.equal(r.attributes['BGP.next_hop'], '198.18.1.3');
    await client.apply({ ...(await client.get('IPAMBlock', ipamBlockName(block))), spec: original });
    await poll(
      `${ip}/32 withdrawn`,
      async () => ((await routesAt(ibgp, `${ip}/32`)).some((x) => x.prefix === `${ip}/32`) ? undefined : true),
      T,
    );
  });

  it('routes learned from the eBGP switch are published as LearnedRoute resources', async () => {
    const lr = await poll(
      'LearnedRoute for 192.0.2.0/24',
      async () =>
        (await client.list('LearnedRoute')).items.find((i) => (i.spec as { prefix: string }).prefix === '192.0.2.0/24'),
      T,
    );
    assert.deepEqual(lr.spec, {
      prefix: '192.0.2.0/24',
      nextHop: ebgpAddr,
      asPath: [65100],
      communities: [],
      learnedBy: 'rr-0',
      peer: ebgpAddr,
    });
    await ebgp.reconfigure(
      birdConfig({
        routerId: ebgpAddr,
        as: 65100,
        statics: [],
        neighbors: [{ name: 'refl', address: rrAddr, as: 64512 }],
      }),
    );
    await poll(
      'LearnedRoute deleted after the withdrawal',
      async () => ((await client.list('LearnedRoute')).items.length === 0 ? true : undefined),
      T,
    );
  });

  it('BGPPeer password from a mounted secret: the switch with that password peers; a missing secret keeps its peer down', async () => {
    const [md5Addr, lostAddr] = [await ns.addAddress(), await ns.addAddress()];
    // A Kubernetes Secret `bgp-secrets` mounted at <secrets dir>/bgp-secrets: one file per key.
    mkdirSync(join(secretsDir, 'bgp-secrets'), { recursive: true });
    writeFileSync(join(secretsDir, 'bgp-secrets', 'tor-md5'), 'ds-secret\n');
    const sw = async (addr: string, extra: string): Promise<BirdHandle> => {
      const b = await startBird({
        netns: ns,
        address: addr,
        config: birdConfig({
          routerId: addr,
          as: 65300,
          statics: [],
          neighbors: [{ name: 'refl', address: rrAddr, as: 64512, extra }],
        }),
      });
      extraBirds.push(b);
      return b;
    };
    const md5 = await sw(md5Addr, 'password "ds-secret";');
    const lost = await sw(lostAddr, 'password "ds-secret";');
    const password = (key: string) => ({ secretKeyRef: { name: 'bgp-secrets', key } });
    await client.apply(
      res('BGPPeer', 'tor-md5', {
        nodeSelector: 'has(route-reflector)',
        peerIP: md5Addr,
        asNumber: 65300,
        password: password('tor-md5'),
        ttlSecurity: 0,
      }),
    );
    await client.apply(
      res('BGPPeer', 'tor-lost', {
        nodeSelector: 'has(route-reflector)',
        peerIP: lostAddr,
        asNumber: 65300,
        password: password('not-there'),
      }),
    );
    await md5.waitForState('refl', 'Established', T);
    const block = [...rr.derived!.routes.keys()][0]!;
    await poll(`${block} at the TCP-MD5 switch`, async () => (await routesAt(md5, block))[0], T);
    const why = await poll(
      'the peer without its secret says why',
      async () => {
        const e = rr.reflector.speaker.peer(lostAddr)?.lastError;
        return e?.includes('TCP-MD5 key unavailable: secret bgp-secrets key not-there') ? e : undefined;
      },
      T,
    );
    assert.match(why, /not-there: cannot read key file .*ENOENT/);
    assert.notEqual((await lost.protocol('refl')).bgpState, 'Established');
    assert.equal(rr.reflector.speaker.peer(lostAddr)!.flaps, 0);
    // The secret appears (Kubernetes writes a mounted Secret in place): the peer comes up without
    // any datastore change, and the other sessions are not touched.
    const since = rr.reflector.speaker.peer(md5Addr)!.establishedAt;
    writeFileSync(join(secretsDir, 'bgp-secrets', 'not-there'), 'ds-secret');
    await lost.waitForState('refl', 'Established', T);
    assert.equal(rr.reflector.speaker.peer(md5Addr)!.establishedAt, since);
  });
});

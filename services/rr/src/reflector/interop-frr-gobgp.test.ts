// The reflector with FRR and GoBGP clients (and a BIRD one): each gets the others' routes with
// ORIGINATOR_ID and CLUSTER_LIST, in a network namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  birdConfig,
  birdSkipReason,
  createNetns,
  gobgpClientConfig,
  netnsSkipReason,
  peer,
  poll,
  reflectorSettings,
  startBird,
  startFrr,
  startGobgp,
  startReflector,
  type BirdHandle,
  type FrrHandle,
  type GobgpHandle,
  type Netns,
} from '../testing/lab.js';
import type { Reflector } from './reflector.js';

function missing(bin: string, args: string[], pkg: string): string | undefined {
  try {
    execFileSync(bin, args, { stdio: 'pipe' });
    return undefined;
  } catch {
    return `${bin} is not installed (Debian package ${pkg}; infra/install.sh installs it)`;
  }
}

const skip =
  netnsSkipReason() ??
  birdSkipReason() ??
  missing('/usr/lib/frr/bgpd', ['--version'], 'frr') ??
  missing('gobgpd', ['--version'], 'gobgpd');
const T = 60_000;

describe('reflector with FRR, GoBGP and BIRD clients', { skip, timeout: 180_000 }, () => {
  let ns: Netns;
  let rr: Reflector;
  let frr: FrrHandle;
  let gobgp: GobgpHandle;
  let bird: BirdHandle;
  let a: { rr: string; frr: string; gobgp: string; bird: string };

  before(async () => {
    ns = await createNetns('rrmix');
    a = {
      rr: await ns.addAddress(),
      frr: await ns.addAddress(),
      gobgp: await ns.addAddress(),
      bird: await ns.addAddress(),
    };
    rr = await startReflector(ns, reflectorSettings(a.rr), [
      peer(a.frr),
      peer(a.gobgp, { families: ['ipv4-unicast'] }),
      peer(a.bird),
    ]);
    frr = await startFrr({
      netns: ns,
      address: a.frr,
      config: [
        'frr defaults traditional',
        'hostname rr-client',
        'router bgp 65000',
        ` bgp router-id ${a.frr}`,
        ' no bgp ebgp-requires-policy',
        ' no bgp default ipv4-unicast',
        ' no bgp network import-check',
        ` neighbor ${a.rr} remote-as 65000`,
        ` neighbor ${a.rr} update-source ${a.frr}`,
        ` neighbor ${a.rr} timers connect 1`,
        ' address-family ipv4 unicast',
        '  network 10.21.0.0/26',
        `  neighbor ${a.rr} activate`,
        ' exit-address-family',
        'exit',
      ].join('\n'),
    });
    gobgp = await startGobgp({
      netns: ns,
      address: a.gobgp,
      config: gobgpClientConfig({ address: a.gobgp, rr: a.rr }),
    });
    await gobgp.addRoute('10.22.0.0/26', ['nexthop', a.gobgp, 'community', '65000:22']);
    bird = await startBird({
      netns: ns,
      address: a.bird,
      config: birdConfig({
        routerId: a.bird,
        as: 65000,
        statics: ['10.23.0.0/26'],
        neighbors: [{ name: 'refl', address: a.rr, as: 65000 }],
      }),
    });
    await frr.waitForState(a.rr, 'Established', T);
    await gobgp.waitForState(a.rr, 'established', T);
    await bird.waitForState('refl', 'Established', T);
  });

  after(async () => {
    await frr?.stop();
    await gobgp?.stop();
    await bird?.stop();
    await rr?.close();
    await ns?.destroy();
  });

  it('FRR gets the GoBGP and BIRD routes, reflected', async () => {
    for (const [prefix, from] of [
      ['10.22.0.0/26', a.gobgp],
      ['10.23.0.0/26', a.bird],
    ] as const) {
      const p = await poll(`${prefix} at FRR`, async () => (await frr.route(prefix))[0], T);
      assert.equal(p.nexthop, from);
      assert.equal(p.raw.originatorId, from);
      assert.deepEqual((p.raw.clusterList as { list?: string[] } | undefined)?.list, [a.rr]);
    }
  });

  it('GoBGP gets the FRR and BIRD routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    for (const [prefix, from] of [
      ['10.21.0.0/26', a.frr],
      ['10.23.0.0/26', a.bird],
    ] as const) {
      const p = await poll(
        `${prefix} at GoBGP`,
        async () => (await gobgp.rib('ipv4')).find((x) => x.prefix === prefix),
        T,
      );
      assert.equal((p.attrs.get(9) as { value?: string } | undefined)?.value, from, 'ORIGINATOR_ID (attribute 9)');
      assert.deepEqual(
        (p.attrs.get(10) as { value?: string[] } | undefined)?.value,
        [a.rr],
        'CLUSTER_LIST (attribute 10)',
      );
    }
  });

  it('BIRD gets the FRR and GoBGP routes, the GoBGP community intact', async () => {
    for (const [prefix, from] of [
      ['10.21.0.0/26', a.frr],
      ['10.22.0.0/26', a.gobgp],
    ] as const) {
      const r = await poll(
        `${prefix} at BIRD`,
        async () => (await bird.routes({ prefix, protocol: 'refl' }).catch(() => []))[0],
        T,
      );
      assert.equal(r.attributes['BGP.originator_id'], from);
      assert.equal(r.attributes['BGP.cluster_list'], a.rr);
    }
    const g = (await bird.routes({ prefix: '10.22.0.0/26', protocol: 'refl' }))[0]!;
    assert.match(g.attributes['BGP.community'] ?? '', /\(65000,22\)/);
  });
});

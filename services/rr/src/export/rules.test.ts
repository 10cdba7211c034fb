import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blockedByCommunity, mayReflect, outboundAttributes, type TargetKind, type TargetSpec } from './rules.js';
import type { PeerKind } from '../rib/rib.js';
import { WellKnownCommunity, type PathAttributes } from '../../../bgp/index.js';

const CLUSTER = '10.255.0.1';

function target(kind: TargetKind, extra: Partial<TargetSpec> = {}): TargetSpec {
  return {
    kind,
    localAs: 65000,
    clusterId: CLUSTER,
    nextHopMode: 'auto',
    selfNextHop4: '10.255.0.1',
    selfNextHop6: 'fd00::1',
    llgr: false,
    ...extra,
  };
}

const base: PathAttributes = { origin: 0, asPath: [], atomicAggregate: false, unknown: [], localPref: 100, med: 20 };

describe('RFC 4456 §6 reflection table', () => {
  const table: [PeerKind, TargetKind, boolean][] = [
    ['local', 'client', true],
    ['local', 'ibgp', true],
    ['local', 'ebgp', true],
    ['ebgp', 'client', true],
    ['ebgp', 'ibgp', true],
    ['ebgp', 'ebgp', true],
    ['client', 'client', true],
    ['client', 'ibgp', true],
    ['client', 'ebgp', true],
    ['ibgp', 'client', true],
    ['ibgp', 'ibgp', false],
    ['ibgp', 'ebgp', true],
  ];
  for (const [from, to, want] of table) {
    it(`${from} → ${to}: ${want ? 'sent' : 'not sent'}`, () => assert.equal(mayReflect(from, to), want));
  }
});

describe('outbound attributes', () => {
  it('reflecting a client route: ORIGINATOR_ID = the client, our cluster id prepended, next hop kept', () => {
    const o = outboundAttributes(base, 4, '192.0.2.7', undefined, 'client', '192.0.2.7', target('client'))!;
    assert.equal(o.attrs.originatorId, '192.0.2.7');
    assert.deepEqual(o.attrs.clusterList, [CLUSTER]);
    assert.equal(o.attrs.nextHop, '192.0.2.7');
    assert.equal(o.attrs.med, 20);
    assert.equal(o.attrs.localPref, 100);
  });

  it('an existing ORIGINATOR_ID is kept and CLUSTER_LIST grows at the front', () => {
    const a = { ...base, originatorId: '1.1.1.1', clusterList: ['9.9.9.9'] };
    const o = outboundAttributes(a, 4, '192.0.2.7', undefined, 'ibgp', '192.0.2.8', target('client'))!;
    assert.equal(o.attrs.originatorId, '1.1.1.1');
    assert.deepEqual(o.attrs.clusterList, [CLUSTER, '9.9.9.9']);
  });

  it('eBGP-learned and originated routes to iBGP are not "reflected": no ORIGINATOR_ID or CLUSTER_LIST', () => {
    for (const from of ['ebgp', 'local'] as const) {
      const o = outboundAttributes(base, 4, '192.0.2.7', undefined, from, '192.0.2.7', target('ibgp'))!;
      assert.equal(o.attrs.originatorId, undefined);
      assert.equal(o.attrs.clusterList, undefined);
    }
  });

  it('to eBGP: our AS prepended, LOCAL_PREF / ORIGINATOR_ID / CLUSTER_LIST stripped, next hop self', () => {
    const a = {
      ...base,
      asPath: [{ type: 2 as const, asns: [65001] }],
      originatorId: '1.1.1.1',
      clusterList: ['9.9.9.9'],
    };
    const o = outboundAttributes(a, 4, '192.0.2.7', undefined, 'client', '192.0.2.7', target('ebgp'))!;
    assert.deepEqual(o.attrs.asPath, [{ type: 2, asns: [65000, 65001] }]);
    assert.equal(o.attrs.localPref, undefined);
    assert.equal(o.attrs.originatorId, undefined);
    assert.equal(o.attrs.clusterList, undefined);
    assert.equal(o.attrs.nextHop, '10.255.0.1');
    assert.equal(o.attrs.med, 20, 'a MED set inside our AS may go to a neighbour AS');
  });

  it('to eBGP: a MED learned from another AS is not propagated (RFC 4271 §5.1.4)', () => {
    const o = outboundAttributes(base, 4, '192.0.2.7', undefined, 'ebgp', '192.0.2.7', target('ebgp'))!;
    assert.equal(o.attrs.med, undefined);
  });

  it('originated routes with an explicit next hop keep it towards eBGP in auto mode, not in self mode', () => {
    assert.equal(outboundAttributes(base, 4, '10.0.5.1', undefined, 'local', '', target('ebgp'))!.nextHop, '10.0.5.1');
    assert.equal(
      outboundAttributes(base, 4, '10.0.5.1', undefined, 'local', '', target('ebgp', { nextHopMode: 'self' }))!.nextHop,
      '10.255.0.1',
    );
    assert.equal(
      outboundAttributes(base, 4, '', undefined, 'local', '', target('client'))!.nextHop,
      '10.255.0.1',
      "'' means self",
    );
  });

  it('next-hop keep towards eBGP, next-hop self towards iBGP', () => {
    assert.equal(
      outboundAttributes(base, 4, '192.0.2.7', undefined, 'client', 'x', target('ebgp', { nextHopMode: 'keep' }))!
        .nextHop,
      '192.0.2.7',
    );
    assert.equal(
      outboundAttributes(base, 4, '192.0.2.7', undefined, 'client', 'x', target('client', { nextHopMode: 'self' }))!
        .nextHop,
      '10.255.0.1',
    );
  });

  it('IPv6: the next hop goes to MP_REACH (not NEXT_HOP); link-local kept only with the next hop', () => {
    const o = outboundAttributes(base, 6, '2001:db8::7', 'fe80::7', 'client', 'x', target('client'))!;
    assert.equal(o.attrs.nextHop, undefined);
    assert.equal(o.nextHop, '2001:db8::7');
    assert.equal(o.linkLocalNextHop, 'fe80::7');
    const s = outboundAttributes(base, 6, '2001:db8::7', 'fe80::7', 'client', 'x', target('ebgp'))!;
    assert.equal(s.nextHop, 'fd00::1');
    assert.equal(s.linkLocalNextHop, undefined);
  });

  it('no self address for the family: not exported', () => {
    assert.equal(
      outboundAttributes(base, 6, '', undefined, 'local', '', target('client', { selfNextHop6: undefined })),
      undefined,
    );
  });
});

describe('well-known communities', () => {
  const w = (c: number): PathAttributes => ({ ...base, communities: [c] });
  it('NO_ADVERTISE goes nowhere; NO_EXPORT and NO_EXPORT_SUBCONFED not to eBGP', () => {
    assert.equal(blockedByCommunity(w(WellKnownCommunity.NoAdvertise), target('client')), true);
    assert.equal(blockedByCommunity(w(WellKnownCommunity.NoExport), target('client')), false);
    assert.equal(blockedByCommunity(w(WellKnownCommunity.NoExport), target('ebgp')), true);
    assert.equal(blockedByCommunity(w(WellKnownCommunity.NoExportSubconfed), target('ebgp')), true);
  });
  it('LLGR_STALE only to peers that advertised long-lived graceful restart (RFC 9494 §4.5)', () => {
    assert.equal(blockedByCommunity(w(WellKnownCommunity.LlgrStale), target('client')), true);
    assert.equal(blockedByCommunity(w(WellKnownCommunity.LlgrStale), target('client', { llgr: true })), false);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rib, RouteFlag, type PeerKind } from './rib.js';
import { NONE } from './dest-table.js';
import { LLGR_STALE, NO_LLGR } from './attr-set.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import { parseBgpFilter } from '../policy/filter.js';
import {
  AsPathSegmentType,
  parsePrefix,
  prefixToString,
  type PathAttributes,
  type UpdateMessage,
} from '../../../bgp/index.js';

const ME = { localAs: 65000, routerId: '10.255.0.1', clusterId: '10.255.0.1', alwaysCompareMed: false };

function attrs(extra: Partial<PathAttributes> = {}): PathAttributes {
  return { origin: 0, asPath: [], nextHop: '192.0.2.1', atomicAggregate: false, unknown: [], localPref: 100, ...extra };
}

function announce(prefixes: string[], a: PathAttributes = attrs()): UpdateMessage {
  return { type: 2, withdrawn: [], attributes: a, nlri: prefixes.map((p) => parsePrefix(p)) };
}

function withdraw(prefixes: string[]): UpdateMessage {
  return { type: 2, withdrawn: prefixes.map((p) => parsePrefix(p)), nlri: [] };
}

function newRib(opts = ME) {
  return new Rib(opts, new PeerPolicy('iBGP', []));
}

function peer(
  rib: Rib,
  address: string,
  kind: PeerKind = 'client',
  extra: { maxPrefixes?: number; filters?: ReturnType<typeof parseBgpFilter>[] } = {},
) {
  const ebgp = kind === 'ebgp';
  return rib.addPeer({
    address,
    kind,
    asn: ebgp ? 65100 : 65000,
    routerId: address,
    policy: new PeerPolicy(ebgp ? 'eBGP' : 'iBGP', extra.filters ?? []),
    ...(extra.maxPrefixes !== undefined ? { maxPrefixes: extra.maxPrefixes } : {}),
  });
}

/** Settles every dirty destination (what the exporter does) and returns prefix → best peer address. */
function settle(rib: Rib): Map<string, string> {
  for (let d = rib.nextDirty(); d !== NONE; d = rib.nextDirty()) rib.finishDest(d);
  const out = new Map<string, string>();
  for (let d = 0; d < rib.destLimit; d++) {
    if (!rib.destAfi(d)) continue;
    const b = rib.bestRoute(d);
    if (b !== NONE) out.set(prefixToString(rib.destPrefix(d)), rib.view(b).peer.address);
  }
  return out;
}

describe('RIB: interning and Adj-RIB-In', () => {
  it('identical attributes from two peers are stored once and freed with the last route', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1');
    const b = peer(rib, '10.0.0.2');
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26', '10.1.0.64/26']));
    rib.applyUpdate(b.idx, announce(['10.1.0.0/26']));
    assert.equal(rib.attributeSetCount, 1);
    assert.equal([...rib.attributeSets()][0]!.refs, 3);
    assert.equal(rib.routeCount, 3);
    rib.applyUpdate(a.idx, withdraw(['10.1.0.0/26', '10.1.0.64/26']));
    rib.applyUpdate(b.idx, withdraw(['10.1.0.0/26']));
    assert.equal(settle(rib).size, 0);
    assert.equal(rib.attributeSetCount, 0);
    assert.equal(rib.prefixCount, 0);
  });

  it('an implicit withdraw (new attributes for the same prefix) replaces the route in place', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1');
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26']));
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs({ med: 7 })));
    assert.equal(rib.routeCount, 1);
    assert.equal(a.count, 1);
    settle(rib);
    assert.equal(rib.attributeSetCount, 1);
    assert.equal([...rib.peerRoutes(a.idx)][0]!.set.med, 7);
  });

  it('IPv6 routes through MP_REACH keep their next hop and link-local next hop', () => {
    const rib = newRib();
    const a = peer(rib, '2001:db8::1');
    rib.applyUpdate(a.idx, {
      type: 2,
      withdrawn: [],
      nlri: [],
      attributes: attrs({ nextHop: undefined }),
      mpReach: {
        afi: 2,
        safi: 1,
        nextHop: '2001:db8::1',
        linkLocalNextHop: 'fe80::1',
        nlri: [parsePrefix('2001:db8:1::/122')],
      },
    });
    const best = settle(rib);
    assert.equal(best.get('2001:db8:1::/122'), '2001:db8::1');
    const v = [...rib.peerRoutes(a.idx)][0]!;
    assert.equal(v.set.nextHop, '2001:db8::1');
    assert.equal(v.set.linkLocalNextHop, 'fe80::1');
    rib.applyUpdate(a.idx, {
      type: 2,
      withdrawn: [],
      nlri: [],
      mpUnreach: { afi: 2, safi: 1, withdrawn: [parsePrefix('2001:db8:1::/122')] },
    });
    assert.equal(settle(rib).size, 0);
  });

  it('ADD-PATH: several paths of one prefix from one peer are separate routes', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1');
    rib.applyUpdate(a.idx, { type: 2, withdrawn: [], attributes: attrs(), nlri: [parsePrefix('10.1.0.0/26', 1)] });
    rib.applyUpdate(a.idx, {
      type: 2,
      withdrawn: [],
      attributes: attrs({ med: 5 }),
      nlri: [parsePrefix('10.1.0.0/26', 2)],
    });
    assert.equal(a.count, 2);
    settle(rib);
    const d = rib.lookup(parsePrefix('10.1.0.0/26'));
    assert.deepEqual(
      rib.rankedRoutes(d).map((r) => r.pathId),
      [1, 2],
    );
  });
});

describe('RIB: RFC 4456 and eBGP import rules', () => {
  it('drops a route carrying our ORIGINATOR_ID, and one whose CLUSTER_LIST holds our cluster id', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1', 'ibgp');
    let r = rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs({ originatorId: ME.routerId })));
    assert.deepEqual([r.announced, r.rejected], [0, 1]);
    r = rib.applyUpdate(
      a.idx,
      announce(['10.1.0.0/26'], attrs({ originatorId: '10.0.0.7', clusterList: ['10.9.9.9', ME.clusterId] })),
    );
    assert.deepEqual([r.announced, r.rejected], [0, 1]);
    r = rib.applyUpdate(
      a.idx,
      announce(['10.1.0.0/26'], attrs({ originatorId: '10.0.0.7', clusterList: ['10.9.9.9'] })),
    );
    assert.deepEqual([r.announced, r.rejected], [1, 0]);
  });

  it('a looped announcement withdraws what the peer had sent for the prefix before', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1', 'ibgp');
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26']));
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs({ clusterList: [ME.clusterId] })));
    assert.equal(settle(rib).size, 0);
  });

  it('drops an eBGP route whose AS_PATH contains our AS', () => {
    const rib = newRib();
    const f = parseBgpFilter('all', { importV4: [{ action: 'Accept' }] });
    const e = peer(rib, '10.0.0.5', 'ebgp', { filters: [f] });
    const r = rib.applyUpdate(
      e.idx,
      announce(['10.1.0.0/26'], attrs({ asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65100, 65000] }] })),
    );
    assert.equal(r.rejected, 1);
  });

  it('eBGP: LOCAL_PREF is ignored (RFC 4271 §5.1.5), ORIGINATOR_ID and CLUSTER_LIST discarded (RFC 7606 §7.9, §7.10)', () => {
    const rib = newRib();
    const f = parseBgpFilter('all', { importV4: [{ action: 'Accept' }] });
    const e = peer(rib, '10.0.0.5', 'ebgp', { filters: [f] });
    rib.applyUpdate(
      e.idx,
      announce(
        ['10.1.0.0/26'],
        attrs({
          localPref: 999,
          originatorId: '1.2.3.4',
          clusterList: ['5.6.7.8'],
          asPath: [{ type: 2, asns: [65100] }],
        }),
      ),
    );
    const v = [...rib.peerRoutes(e.idx)][0]!;
    assert.equal(v.set.localPref, 100);
    assert.equal(v.set.attrs.originatorId, undefined);
    assert.equal(v.set.attrs.clusterList, undefined);
  });

  it('RFC 8212: nothing is imported from an eBGP peer without a filter', () => {
    const rib = newRib();
    const e = peer(rib, '10.0.0.5', 'ebgp');
    const r = rib.applyUpdate(
      e.idx,
      announce(['10.1.0.0/26', '10.1.0.64/26'], attrs({ asPath: [{ type: 2, asns: [65100] }] })),
    );
    assert.deepEqual([r.announced, r.rejected], [0, 2]);
    assert.equal(e.rejected, 2);
  });

  it('import filters decide per prefix and may change attributes', () => {
    const rib = newRib();
    const f = parseBgpFilter('f', {
      importV4: [
        { action: 'Reject', cidr: '10.1.0.0/16', matchOperator: 'In', prefixLength: { min: 32 } },
        {
          action: 'Accept',
          cidr: '10.1.0.0/16',
          matchOperator: 'In',
          operations: [{ addCommunity: { value: '65000:7' } }],
        },
        { action: 'Reject' },
      ],
    });
    const e = peer(rib, '10.0.0.5', 'ebgp', { filters: [f] });
    const r = rib.applyUpdate(
      e.idx,
      announce(['10.1.0.0/26', '10.1.2.3/32', '10.2.0.0/26'], attrs({ asPath: [{ type: 2, asns: [65100] }] })),
    );
    assert.deepEqual([r.announced, r.rejected], [1, 2]);
    assert.deepEqual([...rib.peerRoutes(e.idx)][0]!.set.attrs.communities, [65000 * 65536 + 7]);
  });

  it('max-prefix: the update that goes past the limit is reported and processing stops', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1', 'client', { maxPrefixes: 2 });
    const r = rib.applyUpdate(a.idx, announce(['10.1.0.0/26', '10.1.0.64/26', '10.1.0.128/26', '10.1.0.192/26']));
    assert.deepEqual(r.maxPrefixExceeded, { afi: 4, limit: 2 });
    assert.equal(a.count, 3);
    rib.flushPeer(a.idx);
    assert.equal(settle(rib).size, 0);
    assert.equal(rib.attributeSetCount, 0);
  });
});

describe('RIB: graceful restart', () => {
  it('stale routes survive until re-announced or swept (RFC 4724 §4.2)', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1');
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26', '10.1.0.64/26']));
    settle(rib);
    assert.equal(rib.markStale(a.idx), 2);
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26']));
    assert.equal(rib.pendingDirty, 0, 'a re-announcement with the same attributes changes nothing');
    assert.equal(rib.sweepStale(a.idx), 1);
    assert.deepEqual([...settle(rib).keys()], ['10.1.0.0/26']);
  });

  it('long-lived stale: LLGR_STALE added and least preferred; NO_LLGR routes withdrawn (RFC 9494)', () => {
    const rib = newRib();
    const a = peer(rib, '10.0.0.1');
    const b = peer(rib, '10.0.0.2');
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs({ localPref: 200 })));
    rib.applyUpdate(a.idx, announce(['10.1.0.64/26'], attrs({ communities: [NO_LLGR] })));
    rib.applyUpdate(b.idx, announce(['10.1.0.0/26'], attrs({ localPref: 50 })));
    assert.equal(settle(rib).get('10.1.0.0/26'), '10.0.0.1');
    rib.markStale(a.idx);
    assert.equal(rib.enterLongLivedStale(a.idx), 2);
    const best = settle(rib);
    assert.equal(best.get('10.1.0.0/26'), '10.0.0.2');
    assert.equal(best.has('10.1.0.64/26'), false);
    const v = [...rib.peerRoutes(a.idx)][0]!;
    assert.ok(v.set.attrs.communities?.includes(LLGR_STALE));
    assert.ok(v.flags & RouteFlag.LlgrStale);
  });
});

describe('RIB properties', () => {
  const prefixes = ['10.1.0.0/26', '10.1.0.64/26', '10.2.0.0/24', '2001:db8::/122'];
  const op = fc.record({
    peer: fc.integer({ min: 0, max: 3 }),
    prefix: fc.constantFrom(...prefixes),
    withdraw: fc.boolean(),
    localPref: fc.integer({ min: 99, max: 101 }),
    settle: fc.boolean(),
  });

  it('after any sequence of updates, each best path equals the one chosen from the final routes alone', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const rib = newRib();
        const peers = [0, 1, 2, 3].map((i) => peer(rib, `10.0.0.${i + 1}`));
        const final = new Map<string, number>();
        for (const o of ops) {
          const p = parsePrefix(o.prefix);
          const key = `${o.peer}|${o.prefix}`;
          if (o.withdraw) {
            final.delete(key);
            rib.applyUpdate(
              peers[o.peer]!.idx,
              p.afi === 4
                ? withdraw([o.prefix])
                : { type: 2, withdrawn: [], nlri: [], mpUnreach: { afi: 2, safi: 1, withdrawn: [p] } },
            );
          } else {
            final.set(key, o.localPref);
            const a = attrs({ localPref: o.localPref });
            rib.applyUpdate(
              peers[o.peer]!.idx,
              p.afi === 4
                ? announce([o.prefix], a)
                : {
                    type: 2,
                    withdrawn: [],
                    nlri: [],
                    attributes: a,
                    mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [p] },
                  },
            );
          }
          if (o.settle) settle(rib);
        }
        const best = settle(rib);
        // Reference: highest LOCAL_PREF, then lowest peer address (all else equal).
        for (const prefix of prefixes) {
          let want: [number, number] | undefined;
          for (const [key, lp] of final) {
            const [pi, pfx] = key.split('|');
            if (pfx !== prefix) continue;
            const i = Number(pi);
            if (!want || lp > want[1] || (lp === want[1] && i < want[0])) want = [i, lp];
          }
          assert.equal(best.get(prefix), want ? `10.0.0.${want[0] + 1}` : undefined, prefix);
        }
        assert.equal(rib.routeCount, final.size);
        assert.equal(
          rib.attributeSetCount,
          new Set([...final].map(([k, lp]) => `${lp}|${k.includes(':') ? 6 : 4}`)).size,
        );
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipv4ToUint32 } from '../../../shared/address/index.js';
import { AttrTable } from './attr-set.js';
import { peerOrderKey, rankCandidates, selectBest, type Candidate } from './best-path.js';
import { AsPathSegmentType, type PathAttributes } from '../../../bgp/index.js';

const table = new AttrTable();

interface Spec {
  localPref?: number;
  asPath?: number[];
  origin?: 0 | 1 | 2;
  med?: number;
  originatorId?: string;
  clusterList?: string[];
  llgrStale?: boolean;
  originated?: boolean;
  ebgp?: boolean;
  routerId?: string;
  peer: string;
  pathId?: number;
}

function cand(route: number, s: Spec): Candidate {
  const attrs: PathAttributes = {
    origin: s.origin ?? 0,
    asPath: s.asPath && s.asPath.length ? [{ type: AsPathSegmentType.AsSequence, asns: s.asPath }] : [],
    atomicAggregate: false,
    unknown: [],
    ...(s.localPref !== undefined ? { localPref: s.localPref } : {}),
    ...(s.med !== undefined ? { med: s.med } : {}),
    ...(s.originatorId ? { originatorId: s.originatorId } : {}),
    ...(s.clusterList ? { clusterList: s.clusterList } : {}),
    ...(s.llgrStale ? { communities: [0xffff0006] } : {}),
  };
  const set = table.get(table.intern(attrs, '192.0.2.1'));
  return {
    route,
    set,
    originated: s.originated ?? false,
    ebgp: s.ebgp ?? false,
    routerId: set.originatorId || ipv4ToUint32(s.routerId ?? s.peer),
    peerOrder: peerOrderKey(s.peer),
    pathId: s.pathId ?? 0,
  };
}

const opts = { alwaysCompareMed: false };

describe('best path: each step decides when all earlier ones tie (RFC 4271 §9.1.2, RFC 4456 §9)', () => {
  const cases: { step: string; winner: Spec; loser: Spec }[] = [
    {
      step: 'not LLGR_STALE',
      winner: { peer: '10.0.0.9', localPref: 50 },
      loser: { peer: '10.0.0.1', localPref: 500, llgrStale: true },
    },
    {
      step: 'originated here',
      winner: { peer: '10.0.0.9', originated: true, localPref: 50 },
      loser: { peer: '10.0.0.1', localPref: 500 },
    },
    {
      step: 'higher LOCAL_PREF',
      winner: { peer: '10.0.0.9', localPref: 200, asPath: [1, 2, 3] },
      loser: { peer: '10.0.0.1', localPref: 100 },
    },
    { step: 'absent LOCAL_PREF counts 100', winner: { peer: '10.0.0.9', localPref: 101 }, loser: { peer: '10.0.0.1' } },
    {
      step: 'shorter AS_PATH',
      winner: { peer: '10.0.0.9', asPath: [1], origin: 2 },
      loser: { peer: '10.0.0.1', asPath: [1, 2] },
    },
    { step: 'lower ORIGIN', winner: { peer: '10.0.0.9', origin: 0, med: 99 }, loser: { peer: '10.0.0.1', origin: 1 } },
    {
      step: 'lower MED, same neighbour AS',
      winner: { peer: '10.0.0.9', asPath: [7], med: 5 },
      loser: { peer: '10.0.0.1', asPath: [7], med: 10, ebgp: true },
    },
    { step: 'eBGP over iBGP', winner: { peer: '10.0.0.9', ebgp: true }, loser: { peer: '10.0.0.1' } },
    {
      step: 'lower ORIGINATOR_ID (not router id)',
      winner: { peer: '10.0.0.9', originatorId: '1.1.1.1' },
      loser: { peer: '10.0.0.1', routerId: '0.0.0.1', originatorId: '2.2.2.2' },
    },
    {
      step: 'lower router id without ORIGINATOR_ID',
      winner: { peer: '10.0.0.9', routerId: '1.1.1.1' },
      loser: { peer: '10.0.0.1', routerId: '9.9.9.9' },
    },
    {
      step: 'shorter CLUSTER_LIST',
      winner: { peer: '10.0.0.9', originatorId: '5.5.5.5', clusterList: ['1.0.0.1'] },
      loser: { peer: '10.0.0.1', originatorId: '5.5.5.5', clusterList: ['1.0.0.1', '1.0.0.2'] },
    },
    {
      step: 'lower peer address',
      winner: { peer: '10.0.0.1', routerId: '5.5.5.5' },
      loser: { peer: '10.0.0.2', routerId: '5.5.5.5' },
    },
    {
      step: 'IPv4 peer before IPv6 peer',
      winner: { peer: '10.0.0.200', routerId: '5.5.5.5' },
      loser: { peer: '2001:db8::1', routerId: '5.5.5.5' },
    },
    {
      step: 'lower path id from one peer',
      winner: { peer: '10.0.0.1', pathId: 1 },
      loser: { peer: '10.0.0.1', pathId: 2 },
    },
  ];
  for (const c of cases) {
    it(c.step, () => {
      const w = cand(1, c.winner);
      const l = cand(2, c.loser);
      assert.equal(selectBest([w, l], opts).route, 1);
      assert.equal(selectBest([l, w], opts).route, 1);
    });
  }

  it('MED is not compared across neighbour ASes unless alwaysCompareMed', () => {
    const a = cand(1, { peer: '10.0.0.2', asPath: [100], med: 50, routerId: '1.0.0.1' });
    const b = cand(2, { peer: '10.0.0.1', asPath: [200], med: 10, routerId: '1.0.0.2' });
    assert.equal(selectBest([a, b], opts).route, 1);
    assert.equal(selectBest([a, b], { alwaysCompareMed: true }).route, 2);
  });

  it('deterministic MED: the RFC 4271 elimination gives one answer for the classic 3-path case', () => {
    // A (AS 1, MED 10), B (AS 2, MED 5), C (AS 1, MED 0): pairwise comparison depends on the
    // order (A<B by router id, B<C by router id, C<A by MED); elimination removes A, then B vs C.
    const a = cand(1, { peer: '10.0.0.1', asPath: [1], med: 10, routerId: '1.0.0.1' });
    const b = cand(2, { peer: '10.0.0.2', asPath: [2], med: 5, routerId: '1.0.0.2' });
    const c = cand(3, { peer: '10.0.0.3', asPath: [1], med: 0, routerId: '1.0.0.3' });
    for (const order of [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ]) {
      assert.equal(selectBest(order, opts).route, 2);
    }
  });
});

describe('best path properties', () => {
  const arbSpec = fc.record({
    localPref: fc.option(
      fc.integer({ min: 0, max: 3 }).map((x) => 100 + x),
      { nil: undefined },
    ),
    asPath: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
    origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
    med: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    originatorId: fc.option(fc.constantFrom('1.1.1.1', '2.2.2.2'), { nil: undefined }),
    clusterList: fc.option(fc.array(fc.constantFrom('9.0.0.1', '9.0.0.2'), { maxLength: 2 }), { nil: undefined }),
    llgrStale: fc.boolean(),
    ebgp: fc.boolean(),
    routerId: fc.constantFrom('3.3.3.3', '4.4.4.4'),
  });
  const arbCands = fc
    .uniqueArray(fc.integer({ min: 1, max: 250 }), { minLength: 1, maxLength: 8 })
    .chain((peers) => fc.tuple(...peers.map((p) => arbSpec.map((s) => ({ ...s, peer: `10.0.0.${p}` })))))
    .map((specs) => specs.map((s, i) => cand(i + 1, s)));

  for (const alwaysCompareMed of [false, true]) {
    it(`the winner does not depend on arrival order (alwaysCompareMed=${alwaysCompareMed})`, () => {
      fc.assert(
        fc.property(arbCands, fc.func(fc.integer()), (cs, key) => {
          const shuffled = cs
            .map((c, i) => ({ c, k: key(i) }))
            .sort((x, y) => x.k - y.k || x.c.route - y.c.route)
            .map((x) => x.c);
          assert.equal(selectBest(shuffled, { alwaysCompareMed }).route, selectBest(cs, { alwaysCompareMed }).route);
        }),
        { numRuns: 500 },
      );
    });
  }

  it('ranking is a permutation whose head is the best and which is order independent', () => {
    fc.assert(
      fc.property(arbCands, (cs) => {
        const ranked = rankCandidates(cs, opts);
        assert.equal(ranked.length, cs.length);
        assert.deepEqual(new Set(ranked.map((c) => c.route)), new Set(cs.map((c) => c.route)));
        assert.equal(ranked[0]!.route, selectBest(cs, opts).route);
        assert.deepEqual(
          rankCandidates([...cs].reverse(), opts).map((c) => c.route),
          ranked.map((c) => c.route),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('with alwaysCompareMed the preference is a total order: transitive over any three', () => {
    const o = { alwaysCompareMed: true };
    fc.assert(
      fc.property(
        arbCands.filter((cs) => cs.length >= 3),
        (cs) => {
          const [a, b, c] = cs as [Candidate, Candidate, Candidate];
          const better = (x: Candidate, y: Candidate) => selectBest([x, y], o) === x;
          if (better(a, b) && better(b, c)) assert.ok(better(a, c));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('peerOrderKey', () => {
  it('orders numerically, not textually', () => {
    assert.ok(peerOrderKey('10.0.0.9') < peerOrderKey('10.0.0.10'));
    assert.ok(peerOrderKey('2001:db8::9') < peerOrderKey('2001:db8::10'));
    assert.ok(peerOrderKey('2001:db8::1') < peerOrderKey('2001:db8:0:1::'));
  });
});

// Withdrawals handed over in wire form (the session's `withdrawnWire`): the RIB finds each
// destination from the octets and must end up exactly where Prefix-object withdrawals leave it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rib } from './rib.js';
import { NONE } from './dest-table.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import {
  BASELINE_CODEC_OPTIONS,
  HEADER_LENGTH,
  decodeUpdate,
  encodeUpdate,
  makePrefix,
  parsePrefix,
  prefixToString,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
  type WirePrefixes,
} from '../../../bgp/index.js';

const ME = { localAs: 65000, routerId: '10.255.0.1', clusterId: '10.255.0.1', alwaysCompareMed: false };
const ATTRS: PathAttributes = {
  origin: 0,
  asPath: [],
  nextHop: '192.0.2.1',
  atomicAggregate: false,
  unknown: [],
  localPref: 100,
};

function setup(): { rib: Rib; a: number; b: number } {
  const rib = new Rib(ME, new PeerPolicy('iBGP', []));
  const peer = (address: string): number =>
    rib.addPeer({ address, kind: 'client', asn: 65000, routerId: address, policy: new PeerPolicy('iBGP', []) }).idx;
  return { rib, a: peer('10.0.0.1'), b: peer('10.0.0.2') };
}

function settle(rib: Rib): string[] {
  for (let d = rib.nextDirty(); d !== NONE; d = rib.nextDirty()) rib.finishDest(d);
  const out: string[] = [];
  for (let d = 0; d < rib.destLimit; d++) {
    if (!rib.destAfi(d)) continue;
    const best = rib.bestRoute(d);
    out.push(`${prefixToString(rib.destPrefix(d))} ${best === NONE ? '-' : rib.view(best).peer.address}`);
  }
  return out.sort();
}

/** A withdrawal UPDATE as the session hands it over with wireWithdrawals on. */
function wireWithdraw(ps: Prefix[]): UpdateMessage {
  const bytes = encodeUpdate({ type: 2, withdrawn: ps, nlri: [] }, BASELINE_CODEC_OPTIONS);
  const u = decodeUpdate(bytes.subarray(HEADER_LENGTH), BASELINE_CODEC_OPTIONS, { wireWithdrawn: true }).update;
  assert.equal(u.withdrawn.length, 0);
  return u;
}

function raw(octets: number[], count: number, addPath = false): UpdateMessage {
  const w: WirePrefixes = { bytes: Uint8Array.from(octets), start: 0, end: octets.length, count, afi: 4, addPath };
  return { type: 2, withdrawn: [], nlri: [], withdrawnWire: w };
}

const prefixArb = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([a, len]) => {
  const b = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
  return makePrefix(4, Uint8Array.from(b), len);
});

describe('RIB: withdrawals in wire form', () => {
  it('leave the same Loc-RIB and counts as the same withdrawals as Prefix objects', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(prefixArb, { minLength: 1, maxLength: 60, selector: (p) => prefixToString(p) }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
        (ps, fromB, gone) => {
          const wired = setup();
          const plain = setup();
          const bOnes = ps.filter((_, i) => fromB[i]);
          // Some withdrawn prefixes were never announced: they are not counted.
          const withdrawn = ps.filter((_, i) => gone[i]);
          for (const s of [wired, plain]) {
            s.rib.applyUpdate(s.a, { type: 2, withdrawn: [], attributes: ATTRS, nlri: ps });
            if (bOnes.length) s.rib.applyUpdate(s.b, { type: 2, withdrawn: [], attributes: ATTRS, nlri: bOnes });
            settle(s.rib);
          }
          const rw = withdrawn.length ? wired.rib.applyUpdate(wired.a, wireWithdraw(withdrawn)) : undefined;
          const rp = withdrawn.length ? plain.rib.applyUpdate(plain.a, { type: 2, withdrawn, nlri: [] }) : undefined;
          assert.deepStrictEqual(rw, rp);
          assert.deepStrictEqual(settle(wired.rib), settle(plain.rib));
          assert.equal(wired.rib.peers[wired.a]!.count, plain.rib.peers[plain.a]!.count);
          assert.equal(wired.rib.routeCount, plain.rib.routeCount);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('host bits past the length are ignored; /0 and /32 are found; another peer keeps its route', () => {
    const { rib, a, b } = setup();
    const nlri = ['10.1.2.0/24', '0.0.0.0/0', '192.0.2.7/32', '172.16.0.0/12'].map((p) => parsePrefix(p));
    rib.applyUpdate(a, { type: 2, withdrawn: [], attributes: ATTRS, nlri });
    rib.applyUpdate(b, { type: 2, withdrawn: [], attributes: ATTRS, nlri: [parsePrefix('172.16.0.0/12')] });
    settle(rib);
    // 10.1.2.255/24 (host bits set, as a sender may), /0, 192.0.2.7/32, 172.31.0.0/12.
    const res = rib.applyUpdate(a, raw([24, 10, 1, 2, 0, 32, 192, 0, 2, 7, 12, 172, 31], 4));
    assert.equal(res.withdrawn, 4);
    assert.deepStrictEqual(settle(rib), ['172.16.0.0/12 10.0.0.2']);
    // Nothing left from peer a: a repeat withdraws nothing.
    assert.equal(rib.applyUpdate(a, raw([24, 10, 1, 2], 1)).withdrawn, 0);
  });

  it('ADD-PATH: the path identifier picks the route (RFC 7911)', () => {
    const { rib, a } = setup();
    for (const id of [1, 2])
      rib.applyUpdate(a, { type: 2, withdrawn: [], attributes: ATTRS, nlri: [parsePrefix('10.1.0.0/26', id)] });
    settle(rib);
    const res = rib.applyUpdate(a, raw([0, 0, 0, 2, 26, 10, 1, 0, 0], 1, true));
    assert.equal(res.withdrawn, 1);
    const d = rib.lookup(parsePrefix('10.1.0.0/26'));
    settle(rib);
    assert.deepStrictEqual(
      rib.rankedRoutes(d).map((r) => r.pathId),
      [1],
    );
  });
});

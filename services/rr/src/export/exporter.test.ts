import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Exporter, type ExportSink } from './exporter.js';
import type { GroupSpec } from './update-group.js';
import type { TargetKind } from './rules.js';
import { Rib, type PeerKind } from '../rib/rib.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import {
  decodeMessage,
  parsePrefix,
  prefixToString,
  type CodecOptions,
  type PathAttributes,
  type UpdateMessage,
} from '../../../bgp/index.js';

const ME = { localAs: 65000, routerId: '10.255.0.1', clusterId: '10.255.0.1', alwaysCompareMed: false };
const CODEC: CodecOptions = { fourOctetAs: true, extendedMessage: false, addPath: [] };
const ADDPATH: CodecOptions = {
  fourOctetAs: true,
  extendedMessage: false,
  addPath: [{ afi: 1, safi: 1, send: true, receive: false }],
};
/** The receiving side of ADDPATH. */
const ADDPATH_RX: CodecOptions = {
  fourOctetAs: true,
  extendedMessage: false,
  addPath: [{ afi: 1, safi: 1, send: false, receive: true }],
};

/** What each receiving peer holds after applying every UPDATE we wrote to it. */
class RecordingSink implements ExportSink {
  readonly tables = new Map<number, Map<string, PathAttributes & { mpNextHop?: string }>>();
  readonly messages = new Map<number, Uint8Array[]>();
  readonly syncedPeers: number[] = [];
  readonly codecs = new Map<number, CodecOptions>();

  send(peer: number, msgs: readonly Uint8Array[]): void {
    const t = this.tables.get(peer) ?? new Map();
    this.tables.set(peer, t);
    const log = this.messages.get(peer) ?? [];
    this.messages.set(peer, log);
    // A buffer may hold several UPDATEs back to back (the exporter packs a step into one).
    const split = msgs.flatMap((b) => {
      if (((b[16]! << 8) | b[17]!) === b.length) return [b];
      const out: Uint8Array[] = [];
      for (let o = 0; o < b.length; o += (b[o + 16]! << 8) | b[o + 17]!)
        out.push(b.subarray(o, o + ((b[o + 16]! << 8) | b[o + 17]!)));
      return out;
    });
    for (const m of split) {
      log.push(m);
      const u = decodeMessage(m, this.codecs.get(peer) ?? CODEC).message as UpdateMessage;
      const key = (p: { pathId: number } & Parameters<typeof prefixToString>[0]) => `${prefixToString(p)}#${p.pathId}`;
      for (const p of u.withdrawn) t.delete(key(p));
      for (const p of u.mpUnreach?.withdrawn ?? []) t.delete(key(p));
      for (const p of u.nlri) t.set(key(p), u.attributes!);
      for (const p of u.mpReach?.nlri ?? []) t.set(key(p), { ...u.attributes!, mpNextHop: u.mpReach!.nextHop });
    }
  }
  ready(): boolean {
    return true;
  }
  synced(peer: number): void {
    this.syncedPeers.push(peer);
  }
  table(peer: number): Map<string, PathAttributes & { mpNextHop?: string }> {
    return this.tables.get(peer) ?? new Map();
  }
}

function spec(kind: TargetKind, codec = CODEC): GroupSpec {
  return {
    target: {
      kind,
      localAs: 65000,
      clusterId: ME.clusterId,
      nextHopMode: 'auto',
      selfNextHop4: '10.255.0.1',
      selfNextHop6: 'fd00::1',
      llgr: false,
    },
    policy: new PeerPolicy(kind === 'ebgp' ? 'eBGP' : 'iBGP', []),
    codec,
    families: [4, 6],
    maxMessageLength: 4096,
  };
}

function attrs(nextHop: string, extra: Partial<PathAttributes> = {}): PathAttributes {
  return { origin: 0, asPath: [], nextHop, atomicAggregate: false, unknown: [], localPref: 100, ...extra };
}

function announce(prefixes: string[], a: PathAttributes): UpdateMessage {
  return { type: 2, withdrawn: [], attributes: a, nlri: prefixes.map((p) => parsePrefix(p)) };
}

function setup() {
  const rib = new Rib(ME, new PeerPolicy('iBGP', []));
  const sink = new RecordingSink();
  const ex = new Exporter(rib, sink);
  const add = (address: string, kind: PeerKind) =>
    rib.addPeer({
      address,
      kind,
      asn: kind === 'ebgp' ? 65100 : 65000,
      routerId: address.includes(':') ? `10.0.9.${address.split(':').pop()}` : address,
      policy: new PeerPolicy(kind === 'ebgp' ? 'eBGP' : 'iBGP', []),
    });
  const drain = () => {
    while (ex.step(10_000));
  };
  return { rib, sink, ex, add, drain };
}

describe('exporter: reflection through update groups', () => {
  it('a client route reaches the other clients (ORIGINATOR_ID, CLUSTER_LIST), not its source; one buffer for all', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b, c] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client'), add('10.0.0.3', 'client')];
    for (const p of [a, b, c]) ex.join(p.idx, spec('client'));
    assert.equal(ex.groupCount, 1);
    drain();
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26', '10.1.0.64/26'], attrs('10.0.0.1')));
    drain();
    for (const p of [b, c]) {
      const t = sink.table(p.idx);
      assert.deepEqual([...t.keys()].sort(), ['10.1.0.0/26#0', '10.1.0.64/26#0']);
      const got = t.get('10.1.0.0/26#0')!;
      assert.equal(got.originatorId, '10.0.0.1');
      assert.deepEqual(got.clusterList, [ME.clusterId]);
      assert.equal(got.nextHop, '10.0.0.1');
    }
    assert.equal(sink.table(a.idx).size, 0);
    const mb = sink.messages.get(b.idx)!;
    const mc = sink.messages.get(c.idx)!;
    assert.equal(mb.length, 1, 'two prefixes with one attribute set: one UPDATE');
    assert.equal(mb[0], mc[0], 'the same buffer is written to every member');
  });

  it('a withdrawal reaches every client that had the route', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client')];
    ex.join(a.idx, spec('client'));
    ex.join(b.idx, spec('client'));
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs('10.0.0.1')));
    drain();
    assert.equal(sink.table(b.idx).size, 1);
    rib.applyUpdate(a.idx, { type: 2, withdrawn: [parsePrefix('10.1.0.0/26')], nlri: [] });
    drain();
    assert.equal(sink.table(b.idx).size, 0);
    assert.equal(rib.prefixCount, 0);
  });

  it('the member a withdrawn route came from gets no withdrawal (it never got the route)', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client')];
    ex.join(a.idx, spec('client'));
    ex.join(b.idx, spec('client'));
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs('10.0.0.1')));
    drain();
    assert.equal(sink.messages.get(a.idx)?.length ?? 0, 0);
    rib.applyUpdate(a.idx, { type: 2, withdrawn: [parsePrefix('10.1.0.0/26')], nlri: [] });
    drain();
    assert.equal(sink.table(b.idx).size, 0);
    assert.equal(sink.messages.get(a.idx)?.length ?? 0, 0, 'nothing at all to the source');
  });

  it('when the best path moves to a member, that member gets a withdrawal of what it had from us', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client')];
    ex.join(a.idx, spec('client'));
    ex.join(b.idx, spec('client'));
    rib.applyUpdate(b.idx, announce(['10.1.0.0/26'], attrs('10.0.0.2')));
    drain();
    assert.equal(sink.table(a.idx).get('10.1.0.0/26#0')?.nextHop, '10.0.0.2');
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs('10.0.0.1', { localPref: 200 })));
    drain();
    assert.equal(sink.table(a.idx).size, 0);
    assert.equal(sink.table(b.idx).get('10.1.0.0/26#0')?.nextHop, '10.0.0.1');
  });

  it('routes from a non-client go to clients and eBGP, never to other non-clients', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [n1, n2, c, e] = [
      add('10.0.0.1', 'ibgp'),
      add('10.0.0.2', 'ibgp'),
      add('10.0.0.3', 'client'),
      add('10.0.0.4', 'ebgp'),
    ];
    ex.join(n1.idx, spec('ibgp'));
    ex.join(n2.idx, spec('ibgp'));
    ex.join(c.idx, spec('client'));
    ex.join(e.idx, {
      ...spec('ebgp'),
      policy: new PeerPolicy('eBGP', [
        {
          name: 'all',
          importV4: [],
          exportV4: [{ action: 'Accept', remotePeersOnly: false, operations: [] }],
          importV6: [],
          exportV6: [],
        },
      ]),
    });
    rib.applyUpdate(n1.idx, announce(['10.1.0.0/26'], attrs('10.0.0.1')));
    drain();
    assert.equal(sink.table(n2.idx).size, 0);
    assert.equal(sink.table(c.idx).size, 1);
    const toE = sink.table(e.idx).get('10.1.0.0/26#0')!;
    assert.deepEqual(toE.asPath, [{ type: 2, asns: [65000] }]);
    assert.equal(toE.nextHop, '10.255.0.1');
    assert.equal(toE.localPref, undefined);
  });

  it('ADD-PATH members receive every path, each with its own path id', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b, r] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client'), add('10.0.0.3', 'client')];
    sink.codecs.set(r.idx, ADDPATH_RX);
    ex.join(r.idx, spec('client', ADDPATH));
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26'], attrs('10.0.0.1')));
    rib.applyUpdate(b.idx, announce(['10.1.0.0/26'], attrs('10.0.0.2')));
    drain();
    const hops = [...sink.table(r.idx).values()].map((x) => x.nextHop).sort();
    assert.deepEqual(hops, ['10.0.0.1', '10.0.0.2']);
    rib.applyUpdate(a.idx, { type: 2, withdrawn: [parsePrefix('10.1.0.0/26')], nlri: [] });
    drain();
    assert.deepEqual(
      [...sink.table(r.idx).values()].map((x) => x.nextHop),
      ['10.0.0.2'],
    );
  });

  it('IPv6 goes out in MP_REACH_NLRI with the kept next hop', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b] = [add('2001:db8::1', 'client'), add('2001:db8::2', 'client')];
    ex.join(b.idx, spec('client'));
    rib.applyUpdate(a.idx, {
      type: 2,
      withdrawn: [],
      nlri: [],
      attributes: attrs('10.0.0.1', { nextHop: undefined }),
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [parsePrefix('fd00:1::/122')] },
    });
    drain();
    assert.equal(sink.table(b.idx).get('fd00:1::/122#0')?.mpNextHop, '2001:db8::1');
  });

  it('prefixes sharing attributes are packed: 5,000 /26s in the fewest 4096-octet UPDATEs', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client')];
    ex.join(b.idx, spec('client'));
    const prefixes = Array.from(
      { length: 5000 },
      (_, i) => `10.${(i >> 10) & 255}.${(i >> 2) & 255}.${(i & 3) * 64}/26`,
    );
    rib.applyUpdate(a.idx, announce(prefixes, attrs('10.0.0.1')));
    drain();
    assert.equal(sink.table(b.idx).size, 5000);
    const msgs = sink.messages.get(b.idx)!;
    // 5 octets per /26 NLRI (length + 4); fixed part + attributes well under 100 octets.
    assert.ok(msgs.length <= Math.ceil((5000 * 5) / (4096 - 100)), `${msgs.length} UPDATEs`);
  });

  it('a member joining an existing group gets the group table replayed, then synced', () => {
    const { rib, sink, ex, add, drain } = setup();
    const [a, b, c] = [add('10.0.0.1', 'client'), add('10.0.0.2', 'client'), add('10.0.0.3', 'client')];
    ex.join(b.idx, spec('client'));
    rib.applyUpdate(a.idx, announce(['10.1.0.0/26', '10.1.0.64/26'], attrs('10.0.0.1')));
    rib.applyUpdate(c.idx, announce(['10.3.0.0/26'], attrs('10.0.0.3')));
    drain();
    assert.deepEqual(sink.syncedPeers, [b.idx]);
    ex.join(c.idx, spec('client'));
    drain();
    assert.deepEqual(
      [...sink.table(c.idx).keys()].sort(),
      ['10.1.0.0/26#0', '10.1.0.64/26#0'],
      'its own route is not sent back',
    );
    assert.deepEqual(sink.syncedPeers, [b.idx, c.idx]);
  });
});

describe('exporter properties', () => {
  const prefixes = ['10.1.0.0/26', '10.1.0.64/26', '10.2.0.0/24', '10.3.0.0/16'];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('route' as const),
      peer: fc.integer({ min: 0, max: 4 }),
      prefix: fc.constantFrom(...prefixes),
      withdraw: fc.boolean(),
      lp: fc.integer({ min: 99, max: 101 }),
    }),
    fc.record({ kind: fc.constant('step' as const), budget: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('bounce' as const), peer: fc.integer({ min: 0, max: 4 }) }),
  );
  const kinds: PeerKind[] = ['client', 'client', 'ibgp', 'ibgp', 'client'];

  it('every member ends up holding exactly its view of the Loc-RIB, whatever the interleaving', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 50 }), fc.boolean(), (ops, addPath) => {
        const { rib, sink, ex, add } = setup();
        const peers = kinds.map((k, i) => add(`10.0.0.${i + 1}`, k));
        const codec = addPath ? ADDPATH : CODEC;
        const up = new Set<number>();
        const join = (i: number) => {
          const p = peers[i]!;
          sink.tables.delete(p.idx);
          sink.codecs.set(p.idx, addPath ? ADDPATH_RX : CODEC);
          ex.join(p.idx, spec(kinds[i] as TargetKind, codec));
          up.add(i);
        };
        kinds.forEach((_, i) => join(i));
        for (const o of ops) {
          if (o.kind === 'step') ex.step(o.budget);
          else if (o.kind === 'bounce') {
            ex.leave(peers[o.peer]!.idx);
            rib.flushPeer(peers[o.peer]!.idx);
            join(o.peer);
          } else if (o.withdraw)
            rib.applyUpdate(peers[o.peer]!.idx, { type: 2, withdrawn: [parsePrefix(o.prefix)], nlri: [] });
          else
            rib.applyUpdate(
              peers[o.peer]!.idx,
              announce([o.prefix], attrs(`10.0.0.${o.peer + 1}`, { localPref: o.lp })),
            );
        }
        while (ex.step(2));
        for (let i = 0; i < kinds.length; i++) {
          const me = peers[i]!;
          const want = new Set<string>();
          for (let d = 0; d < rib.destLimit; d++) {
            if (!rib.destAfi(d)) continue;
            const routes = rib.rankedRoutes(d);
            const eligible = (r: (typeof routes)[number]) =>
              r.peer.idx !== me.idx && !(r.peer.kind === 'ibgp' && kinds[i] === 'ibgp');
            const p = prefixToString(rib.destPrefix(d));
            if (addPath) for (const r of routes.filter(eligible)) want.add(`${p}|${r.set.nextHop}`);
            else if (routes[0] && eligible(routes[0])) want.add(`${p}|${routes[0].set.nextHop}`);
          }
          const got = new Set([...sink.table(me.idx)].map(([k, a]) => `${k.split('#')[0]}|${a.nextHop}`));
          assert.deepEqual(got, want, `peer ${i}`);
          assert.equal(ex.groupOf(me.idx)!.advertisedTo(me.idx), sink.table(me.idx).size, `sent count of peer ${i}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});

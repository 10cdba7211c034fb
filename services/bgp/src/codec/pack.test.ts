import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeMessage,
  encodeAttributes,
  makePrefix,
  MessageBuffer,
  MessageType,
  packUpdates,
  packUpdatesWire,
  packUpdatesWireInto,
  packWithdrawals,
  packWithdrawalsWire,
  packWithdrawalsWireInto,
  prefixKey,
  updatesWireSize,
  withdrawalsWireSize,
  type CodecOptions,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from './index.js';

const ATTRS: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65001, 65002] }],
  nextHop: '192.0.2.1',
  atomicAggregate: false,
  communities: [0xfde90064],
  unknown: [],
};
const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false, addPath: [] };

function v4(n: number, len = 24, pathId = 0): Prefix[] {
  return Array.from({ length: n }, (_, i) =>
    makePrefix(4, new Uint8Array([10, (i >> 8) & 255, i & 255, 0]), len, pathId),
  );
}
function v6(n: number): Prefix[] {
  return Array.from({ length: n }, (_, i) =>
    makePrefix(6, new Uint8Array([0x20, 0x01, 0x0d, 0xb8, i >> 8, i & 255, 0, 0]), 64),
  );
}
function decodeAll(ms: Uint8Array[], opts: CodecOptions): UpdateMessage[] {
  return ms.map((m) => {
    const r = decodeMessage(m, opts);
    assert.equal(r.error, undefined);
    assert.equal(r.message.type, MessageType.Update);
    return r.message as UpdateMessage;
  });
}

describe('packUpdates', () => {
  it('packs IPv4 prefixes into the fewest 4096-octet UPDATEs, every prefix once', () => {
    const ps = v4(5000);
    const attrs = encodeAttributes(ATTRS, OPTS);
    const ms = packUpdates(ps, attrs, OPTS);
    const perPrefix = 4;
    const room = 4096 - 23 - attrs.length;
    assert.equal(ms.length, Math.ceil(ps.length / Math.floor(room / perPrefix)));
    for (const m of ms.slice(0, -1)) assert.ok(m.length > 4096 - perPrefix && m.length <= 4096, `${m.length}`);
    const got = decodeAll(ms, OPTS).flatMap((u) => {
      assert.deepEqual(u.attributes, ATTRS);
      return u.nlri.map(prefixKey);
    });
    assert.deepEqual(got, ps.map(prefixKey));
  });

  it('uses 65535-octet UPDATEs with extended messages and honours a smaller maxSize', () => {
    const ext = { ...OPTS, extendedMessage: true };
    const attrs = encodeAttributes(ATTRS, ext);
    assert.equal(packUpdates(v4(10000), attrs, ext).length, 1);
    const small = packUpdates(v4(100), attrs, ext, 200);
    for (const m of small) assert.ok(m.length <= 200);
    assert.equal(
      decodeAll(small, ext).reduce((n, u) => n + u.nlri.length, 0),
      100,
    );
  });

  it('packs IPv6 prefixes into MP_REACH_NLRI with global and link-local next hops', () => {
    const attrs = encodeAttributes({ ...ATTRS, nextHop: undefined } as PathAttributes, OPTS);
    const ps = v6(2000);
    const ms = packUpdates(ps, attrs, OPTS, undefined, { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' });
    const us = decodeAll(ms, OPTS);
    for (const u of us) {
      assert.equal(u.mpReach?.nextHop, '2001:db8::1');
      assert.equal(u.mpReach?.linkLocalNextHop, 'fe80::1');
      assert.ok(ms.every((m) => m.length <= 4096));
    }
    assert.deepEqual(
      us.flatMap((u) => u.mpReach!.nlri.map(prefixKey)),
      ps.map(prefixKey),
    );
    assert.throws(() => packUpdates(ps, attrs, OPTS), /mpNextHop: required/);
  });

  it('writes ADD-PATH identifiers when negotiated for sending', () => {
    const opts: CodecOptions = { ...OPTS, addPath: [{ afi: 1, safi: 1, receive: true, send: true }] };
    const ps = v4(3, 24, 77);
    const [u] = decodeAll(packUpdates(ps, encodeAttributes(ATTRS, opts), opts), opts);
    assert.deepEqual(
      u!.nlri.map((p) => p.pathId),
      [77, 77, 77],
    );
  });

  it('rejects a maxSize beyond the negotiated maximum', () => {
    assert.throws(() => packUpdates(v4(1), encodeAttributes(ATTRS, OPTS), OPTS, 5000), /maxSize: 5000/);
  });
});

describe('packWithdrawals', () => {
  it('withdraws IPv4 in the withdrawn field and IPv6 in MP_UNREACH, within maxSize', () => {
    const ps = [...v4(3000), ...v6(1500)];
    const ms = packWithdrawals(ps, OPTS);
    assert.ok(ms.every((m) => m.length <= 4096));
    const us = decodeAll(ms, OPTS);
    const got = us.flatMap((u) => [...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? [])].map(prefixKey));
    assert.deepEqual(got, ps.map(prefixKey));
    assert.ok(us.every((u) => u.attributes === undefined && u.nlri.length === 0));
  });
});

describe('packUpdatesWire / packWithdrawalsWire', () => {
  const wire = (ps: Prefix[], addPath: boolean): Uint8Array => {
    const out: number[] = [];
    for (const p of ps) {
      if (addPath) out.push(p.pathId >>> 24, (p.pathId >>> 16) & 255, (p.pathId >>> 8) & 255, p.pathId & 255);
      out.push(p.length, ...p.bytes);
    }
    return new Uint8Array(out);
  };
  const apOpts: CodecOptions = { ...OPTS, addPath: [{ afi: 1, safi: 1, send: true, receive: false }] };

  it('builds the same UPDATEs as the Prefix-list packers', () => {
    const attrs = encodeAttributes(ATTRS, OPTS);
    const ps4 = [...v4(2000), ...v4(700, 26)];
    const w4 = wire(ps4, false);
    assert.deepEqual(packUpdatesWire(w4, w4.length, 4, attrs, OPTS), packUpdates(ps4, attrs, OPTS));
    assert.deepEqual(packWithdrawalsWire(w4, w4.length, 4, OPTS, 1000), packWithdrawals(ps4, OPTS, 1000));
    const ps6 = v6(900);
    const w6 = wire(ps6, false);
    const nh = { nextHop: '2001:db8::1' };
    assert.deepEqual(
      packUpdatesWire(w6, w6.length, 6, attrs, OPTS, undefined, nh),
      packUpdates(ps6, attrs, OPTS, undefined, nh),
    );
    assert.deepEqual(packWithdrawalsWire(w6, w6.length, 6, OPTS), packWithdrawals(ps6, OPTS));
    const psAp = v4(1500, 24, 7);
    const wAp = wire(psAp, true);
    assert.deepEqual(
      packUpdatesWire(wAp, wAp.length, 4, encodeAttributes(ATTRS, apOpts), apOpts),
      packUpdates(psAp, encodeAttributes(ATTRS, apOpts), apOpts),
    );
  });

  it('updatesWireSize / withdrawalsWireSize bound what the packers write, within a few headers and 1 %', () => {
    const nh = { nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' };
    const cases: { ps: Prefix[]; addPath: boolean; opts: CodecOptions; max?: number }[] = [
      { ps: v4(1), addPath: false, opts: OPTS },
      { ps: v4(3000), addPath: false, opts: OPTS },
      { ps: [...v4(700, 26), ...v4(900, 8)], addPath: false, opts: OPTS, max: 1000 },
      { ps: v4(5000, 32), addPath: false, opts: { ...OPTS, extendedMessage: true } },
      { ps: v4(1500, 24, 7), addPath: true, opts: apOpts },
      { ps: v6(1), addPath: false, opts: OPTS },
      { ps: v6(2500), addPath: false, opts: OPTS },
    ];
    for (const { ps, addPath, opts, max } of cases) {
      const afi = ps[0]!.afi;
      const w = wire(ps, addPath);
      for (const attrs of [new Uint8Array(0), encodeAttributes(ATTRS, opts)]) {
        const mb = new MessageBuffer(64);
        packUpdatesWireInto(mb, w, 0, w.length, afi, attrs, opts, max, afi === 6 ? nh : undefined);
        const bound = updatesWireSize(w.length, afi, attrs.length, opts, max, afi === 6 ? nh : undefined);
        assert.ok(mb.end <= bound, `updates: wrote ${mb.end} > bound ${bound}`);
        assert.ok(bound - mb.end <= 2 * (64 + attrs.length) + mb.end / 100, `updates: bound ${bound} for ${mb.end}`);
      }
      const mb = new MessageBuffer(64);
      packWithdrawalsWireInto(mb, w, w.length, afi, opts, max);
      const bound = withdrawalsWireSize(w.length, afi, opts, max);
      assert.ok(mb.end <= bound, `withdrawals: wrote ${mb.end} > bound ${bound}`);
      assert.ok(bound - mb.end <= 2 * 64 + mb.end / 100, `withdrawals: bound ${bound} for ${mb.end}`);
    }
    assert.equal(updatesWireSize(0, 4, 40, OPTS), 0);
    assert.equal(withdrawalsWireSize(0, 6, OPTS), 0);
  });

  it('packs only nlri[0..end) and rejects malformed wire prefixes', () => {
    const attrs = encodeAttributes(ATTRS, OPTS);
    const w = wire(v4(3), false);
    const [u] = decodeAll(packUpdatesWire(w, 8, 4, attrs, OPTS), OPTS);
    assert.equal(u!.nlri.length, 2);
    assert.throws(
      () => packUpdatesWire(new Uint8Array([33, 10, 0, 0, 0, 0]), 6, 4, attrs, OPTS),
      /nlri: prefix length 33 exceeds 32/,
    );
    assert.throws(
      () => packWithdrawalsWire(new Uint8Array([24, 10, 0]), 3, 4, OPTS),
      /withdrawn: the last prefix is truncated/,
    );
    assert.throws(() => packUpdatesWire(w, w.length, 6, attrs, OPTS), /mpNextHop: required/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RibStore, LOCAL_PEER_KEY, RIB_FORMAT } from './rib-store.js';
import { Rib } from '../rib/rib.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import { attributesFromWire, parsePrefix, prefixToString, type PathAttributes } from '../../../bgp/index.js';
import { open } from 'lmdb';

const log = pino({ level: 'silent' });
const ID = { asNumber: 65000, routerId: '10.255.0.1', clusterId: '10.255.0.1' };

function attrs(extra: Partial<PathAttributes> = {}): PathAttributes {
  return {
    origin: 0,
    asPath: [{ type: 2, asns: [65001] }],
    atomicAggregate: false,
    unknown: [{ flags: 0xe0, type: 99, value: new Uint8Array([1, 2, 3]) }],
    localPref: 100,
    ...extra,
  };
}

function setup() {
  const rib = new Rib(
    { localAs: ID.asNumber, routerId: ID.routerId, clusterId: ID.clusterId, alwaysCompareMed: false },
    new PeerPolicy('iBGP', []),
  );
  const peer = rib.addPeer({
    address: '10.0.0.1',
    kind: 'client',
    asn: 65000,
    routerId: '10.0.0.1',
    policy: new PeerPolicy('iBGP', []),
  });
  const key = (idx: number) => (idx === rib.localPeer.idx ? LOCAL_PEER_KEY : idx === peer.idx ? '10.0.0.1' : undefined);
  return { rib, peer, key };
}

describe('RIB store (LMDB)', () => {
  it('saves Adj-RIB-In changes in batches and loads them back, attributes byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-store-'));
    try {
      const { rib, peer, key } = setup();
      const store = RibStore.open(dir, log, { flushMs: 5, batch: 100 });
      assert.equal(store.load(ID).routes.length, 0);
      store.attach(rib, key);
      const prefixes = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
      rib.applyUpdate(peer.idx, {
        type: 2,
        withdrawn: [],
        nlri: prefixes.map((p) => parsePrefix(p)),
        attributes: { ...attrs(), nextHop: '10.0.0.1' },
      });
      rib.applyUpdate(peer.idx, {
        type: 2,
        withdrawn: [],
        nlri: [],
        attributes: attrs({ med: 5 }),
        mpReach: {
          afi: 2,
          safi: 1,
          nextHop: '2001:db8::1',
          linkLocalNextHop: 'fe80::1',
          nlri: [parsePrefix('2001:db8:1::/64', 7)],
        },
      });
      rib.applyUpdate(peer.idx, { type: 2, withdrawn: [parsePrefix('10.0.0.0/24')], nlri: [] });
      rib.originate(parsePrefix('192.0.2.0/24'), attrs({ communities: [1] }), '');
      store.setPeerId('10.0.0.1', '1.1.1.1');
      await store.flush();
      assert.ok(store.written >= 1002);
      await store.close();

      const again = RibStore.open(dir, log);
      const loaded = again.load(ID);
      assert.equal(loaded.routes.length, 999 + 1 + 1);
      assert.equal(loaded.peerIds.get('10.0.0.1'), '1.1.1.1');
      const byKey = new Map(loaded.routes.map((r) => [`${r.peer}|${prefixToString(r.prefix)}|${r.prefix.pathId}`, r]));
      assert.equal(byKey.has('10.0.0.1|10.0.0.0/24|0'), false, 'the withdrawn route is gone');
      const v6 = loaded.attrs.get(byKey.get('10.0.0.1|2001:db8:1::/64|7')!.attrId)!;
      const v6a = attributesFromWire(v6.b);
      assert.deepEqual([v6.n, v6.l, v6a.med], ['2001:db8::1', 'fe80::1', 5]);
      assert.deepEqual([...v6a.unknown[0]!.value], [1, 2, 3]);
      const local = loaded.attrs.get(byKey.get(`${LOCAL_PEER_KEY}|192.0.2.0/24|0`)!.attrId)!;
      assert.equal(local.n, '');
      assert.equal(
        new Set(loaded.routes.map((r) => r.attrId)).size,
        3,
        'three distinct attribute sets stored once each',
      );
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a store written under another identity is discarded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-store-'));
    try {
      const { rib, peer, key } = setup();
      const store = RibStore.open(dir, log, { flushMs: 5 });
      store.load(ID);
      store.attach(rib, key);
      rib.applyUpdate(peer.idx, {
        type: 2,
        withdrawn: [],
        nlri: [parsePrefix('10.1.0.0/24')],
        attributes: { ...attrs(), nextHop: '10.0.0.1' },
      });
      await store.close();
      const other = RibStore.open(dir, log);
      assert.equal(other.load({ ...ID, routerId: '10.255.0.2' }).routes.length, 0);
      await other.close();
      const back = RibStore.open(dir, log);
      assert.equal(back.load(ID).routes.length, 0, 'cleared, not merely hidden');
      await back.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('restored routes keep their saved attribute ids (nothing is rewritten for them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-store-'));
    try {
      const a = setup();
      const s1 = RibStore.open(dir, log, { flushMs: 5 });
      s1.load(ID);
      s1.attach(a.rib, a.key);
      a.rib.applyUpdate(a.peer.idx, {
        type: 2,
        withdrawn: [],
        nlri: [parsePrefix('10.1.0.0/24'), parsePrefix('10.2.0.0/24')],
        attributes: { ...attrs(), nextHop: '10.0.0.1' },
      });
      await s1.close();
      const b = setup();
      const s2 = RibStore.open(dir, log, { flushMs: 5 });
      const saved = s2.load(ID);
      for (const r of saved.routes) {
        const a = saved.attrs.get(r.attrId)!;
        const set = b.rib.internStored(a.b, a.n, a.l);
        s2.adopt(set, r.attrId);
        b.rib.restoreRoute(b.peer.idx, r.prefix, set, true);
        b.rib.releaseAttrs(set);
      }
      s2.attach(b.rib, b.key);
      b.rib.applyUpdate(b.peer.idx, {
        type: 2,
        withdrawn: [],
        nlri: [parsePrefix('10.1.0.0/24')],
        attributes: { ...attrs(), nextHop: '10.0.0.1' },
      });
      assert.equal(b.rib.sweepStale(b.peer.idx), 1);
      await s2.close();
      const s3 = RibStore.open(dir, log);
      const final = s3.load(ID);
      assert.deepEqual(
        final.routes.map((r) => prefixToString(r.prefix)),
        ['10.1.0.0/24'],
      );
      assert.equal(final.routes[0]!.attrId, saved.routes[0]!.attrId);
      await s3.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('converts a format 1 snapshot (decoded attribute sets) and refuses a newer format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-store-'));
    try {
      // A format 1 store as the previous reflector wrote it: no "format" key, sets decoded.
      const root = open({ path: join(dir, 'rib.mdb'), compression: false });
      const routes = root.openDB<number, Buffer>({ name: 'routes', keyEncoding: 'binary' });
      const sets = root.openDB<unknown, number>({ name: 'attrs' });
      const meta = root.openDB<unknown, string>({ name: 'meta' });
      const key = Buffer.from([0, 1, 4, 24, 0, 0, 0, 0, 10, 1, 0]);
      await root.transaction(() => {
        void meta.put('identity', ID);
        void meta.put('peer:10.0.0.1', 1);
        void meta.put('nextPeer', 2);
        void meta.put('nextAttrId', 2);
        void sets.put(1, { a: attrs({ med: 9 }), n: '10.0.0.1' });
        void routes.put(key, 1);
      });
      await root.close();
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
      const s1 = RibStore.open(dir, logger);
      const loaded = s1.load(ID);
      assert.equal(loaded.routes.length, 1);
      assert.equal(prefixToString(loaded.routes[0]!.prefix), '10.1.0.0/24');
      const a = loaded.attrs.get(loaded.routes[0]!.attrId)!;
      assert.equal(attributesFromWire(a.b).med, 9);
      assert.ok(
        lines.some((l) => l.includes('snapshot converted') && l.includes('"from":1')),
        lines.join(''),
      );
      await s1.close();

      const again = open({ path: join(dir, 'rib.mdb'), compression: false });
      const m2 = again.openDB<unknown, string>({ name: 'meta' });
      assert.equal(m2.get('format'), RIB_FORMAT);
      await m2.put('format', RIB_FORMAT + 1);
      await again.close();
      lines.length = 0;
      const s2 = RibStore.open(dir, logger);
      assert.equal(s2.load(ID).routes.length, 0, 'a newer format is not read');
      assert.ok(
        lines.some((l) => l.includes('newer format')),
        lines.join(''),
      );
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

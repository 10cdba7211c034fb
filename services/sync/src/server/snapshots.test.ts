import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncCompression, SyncResponse } from '../../../../proto/gen/meshless/v1/sync.js';
import { Cache, type CacheEntry } from '../cache/index.js';
import { FRAME_HEADER_BYTES } from '../protocol/index.js';
import { SharedFrames } from './shared-frames.js';
import { SnapshotCache, nodeChangesSince } from './snapshots.js';

const GZIP = SyncCompression.SYNC_COMPRESSION_GZIP;

const wep = (name: string, node: string, revision: number) => ({
  key: `workloadendpoints.default.${name}`,
  revision,
  value: Buffer.from(
    JSON.stringify({
      kind: 'WorkloadEndpoint',
      metadata: { name, namespace: 'default' },
      spec: { node, pad: 'x'.repeat(200) },
    }),
  ),
});

function counting(cache: Cache, windowMs: number) {
  const seen = { built: 0, reused: 0 };
  const snapshots = new SnapshotCache(
    cache,
    { windowMs, chunkBytes: 256 * 1024, compressMinBytes: 1024 },
    { built: () => seen.built++, reused: () => seen.reused++ },
    () => 'ds',
  );
  return { snapshots, seen };
}

test('a node part is reused past the window while its node is unchanged, rebuilt once it changes', async () => {
  const cache = new Cache();
  cache.apply(Array.from({ length: 20 }, (_, i) => wep(`w${i}`, 'n1', i + 1)));
  const { snapshots, seen } = counting(cache, 5);
  const first = snapshots.nodePart('agent', 'n1', GZIP);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(snapshots.nodePart('agent', 'n1', GZIP), first, 'the same Buffers, not rebuilt');
  assert.equal(seen.reused, 1);
  cache.apply([wep('w20', 'n1', 21)]);
  const second = snapshots.nodePart('agent', 'n1', GZIP);
  assert.notEqual(second, first);
  assert.equal(snapshots.nodePartsHeld.parts, 1, 'the stale part was replaced');
  cache.apply([wep('w21', 'n1', 22)]);
  await new Promise((r) => setTimeout(r, 30));
  snapshots.nodePart('agent', 'n2', GZIP);
  assert.equal(snapshots.nodePartsHeld.parts, 1, "n1's changed part was swept, n2's is held");
});

test('a resume after a warm load (entries in key order) still sees the node changed after its revision', () => {
  const cache = new Cache();
  const source = new Cache();
  // Key order puts the newer entry first: a warm load puts it before the older one.
  source.apply([wep('b', 'n1', 5), wep('a', 'n1', 9)]);
  const entries: CacheEntry[] = [...['workloadendpoints.default.a', 'workloadendpoints.default.b']].map(
    (k) => source.get(k)!,
  );
  cache.load(entries, 9, 0);
  assert.equal(cache.nodeRevision('n1'), 9);
  assert.deepEqual(
    nodeChangesSince(cache, 'agent', 'n1', 6, []).map((u) => u.key),
    ['workloadendpoints.default.a'],
  );
  assert.deepEqual(nodeChangesSince(cache, 'agent', 'n1', 9, []), [], 'nothing after the node changed');
  assert.deepEqual(
    nodeChangesSince(cache, 'agent', 'n1', 9, ['workloadendpoints.default.gone']).map((u) => [u.key, u.deleted]),
    [['workloadendpoints.default.gone', true]],
    'a key the client holds and the view lacks is still deleted',
  );
});

/** Splits concatenated gRPC frames into SyncResponses. */
function frames(buf: Buffer): SyncResponse[] {
  const out: SyncResponse[] = [];
  for (let at = 0; at < buf.byteLength; ) {
    const length = buf.readUInt32BE(at + 1);
    out.push(SyncResponse.decode(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length)));
    at += FRAME_HEADER_BYTES + length;
  }
  return out;
}

test("a resume's shared frames are one Buffer per revision: hello, the shared changes, InSync", () => {
  const cache = new Cache();
  cache.apply([
    { key: 'nodes._.n1', revision: 1, value: Buffer.from('{"kind":"Node"}') },
    { key: 'nodes._.n2', revision: 2, value: Buffer.from('{"kind":"Node"}') },
  ]);
  const shared = new SharedFrames(
    cache,
    { serverId: 's1', pingIntervalMs: 1000, chunkBytes: 256 * 1024, compressMinBytes: 1024 },
    () => 'ds',
  );
  const resume = shared.resume('agent', 1, GZIP);
  assert.equal(shared.resume('agent', 1, GZIP), resume, 'memoized');
  assert.equal(resume.count, 1);
  assert.deepEqual(
    frames(resume.whole).map((m) => m.message?.$case),
    ['serverHello', 'deltas', 'inSync'],
  );
  assert.deepEqual(resume.whole.subarray(0, resume.head.byteLength), resume.head);
  const [hello, , inSync] = frames(resume.whole);
  assert.equal(hello!.message?.$case === 'serverHello' && hello!.message.value.resume, true);
  assert.equal(inSync!.message?.$case === 'inSync' && inSync!.message.value.revision, 2);
  cache.apply([{ key: 'nodes._.n3', revision: 3, value: Buffer.from('{"kind":"Node"}') }]);
  assert.notEqual(shared.resume('agent', 1, GZIP), resume, 'a new revision, new frames');
});

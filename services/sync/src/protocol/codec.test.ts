import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, inflateSync } from 'node:zlib';
import { SyncCompression, SyncUpdateList, type SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import { updateBlock, updateBlockAsync, zlibOptionsFor } from './codec.js';

const update = (i: number): SyncUpdate => ({
  key: `workloadendpoints.ns-${i % 7}.pod-${i}`,
  revision: i + 1,
  value: Buffer.from(JSON.stringify({ spec: { node: 'node-12', ipNetworks: [`10.1.${i % 250}.${i % 200}/32`] } })),
  deleted: false,
  traceparent: '',
  commitTimeUnixMicros: 0,
});

test('zlib window and hash follow the block size, within what the format allows', () => {
  assert.deepEqual(zlibOptionsFor(0), { windowBits: 9, memLevel: 2 });
  assert.deepEqual(zlibOptionsFor(4833), { windowBits: 13, memLevel: 6 });
  assert.deepEqual(zlibOptionsFor(32_768), { windowBits: 15, memLevel: 8 });
  assert.deepEqual(zlibOptionsFor(10 * 2 ** 20), { windowBits: 15, memLevel: 8 });
});

// Agents of every version inflate with zlib's defaults (client/blocks.ts): a smaller window must
// read back unchanged with them, small blocks and large ones, gzip and deflate.
for (const count of [3, 20, 2000]) {
  const updates = Array.from({ length: count }, (_, i) => update(i));
  for (const [name, compression, inflate] of [
    ['gzip', SyncCompression.SYNC_COMPRESSION_GZIP, gunzipSync],
    ['deflate', SyncCompression.SYNC_COMPRESSION_DEFLATE, inflateSync],
  ] as const) {
    test(`${count} updates, ${name}: a block sized to its window inflates with the defaults`, async () => {
      for (const { block, rawBytes } of [
        updateBlock(updates, compression, 0),
        await updateBlockAsync(updates, compression),
      ]) {
        assert.ok(block.compressed.byteLength > 0 && block.updates.length === 0);
        const raw = inflate(block.compressed);
        assert.equal(raw.byteLength, rawBytes);
        assert.deepEqual(
          SyncUpdateList.decode(raw).updates.map((u) => u.key),
          updates.map((u) => u.key),
        );
      }
    });
  }
}

// Blocks compressed on the event loop (node parts: one per agent in a cluster of one agent per
// node; deltas) use zlib's fastest level; the shared snapshot, built off the loop once per view,
// keeps the default. The level shows in the headers: gzip XFL = 4 means "fastest" (RFC 1952
// §2.3.1), zlib FLEVEL = 0 likewise (RFC 1950 §2.2).
test('node parts and deltas are compressed at the fastest level, the shared snapshot at the default', async () => {
  const updates = Array.from({ length: 20 }, (_, i) => update(i));
  const gz = updateBlock(updates, SyncCompression.SYNC_COMPRESSION_GZIP, 0).block.compressed;
  assert.equal(gz[8], 4, 'gzip XFL of a node part');
  const zl = updateBlock(updates, SyncCompression.SYNC_COMPRESSION_DEFLATE, 0).block.compressed;
  assert.equal(zl[1]! >> 6, 0, 'zlib FLEVEL of a node part');
  const shared = (await updateBlockAsync(updates, SyncCompression.SYNC_COMPRESSION_GZIP)).block.compressed;
  assert.equal(shared[8], 0, 'gzip XFL of the shared snapshot (default level)');
});

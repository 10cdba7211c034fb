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

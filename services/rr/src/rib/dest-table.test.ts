// The IPv4 destination index: under any sequence of creates and frees it finds exactly the live
// prefixes (a Map as the model), through growth, tombstones and same-size rebuilds, and a table
// emptied entry by entry keeps no tombstones.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DestTable, NONE, growTypedArray } from './dest-table.js';
import { makePrefix, type Prefix } from '../../../bgp/index.js';

/**
 * Prefix number k (k < 2^16), distinct for distinct k: lengths /16-/24, network k in the top bits.
 * Structured keys, as real tables are (runs of adjacent networks, shared low bits).
 */
function prefixOf(k: number): Prefix {
  const len = 16 + (k % 9);
  const net = (k << (32 - len)) >>> 0;
  const bytes = new Uint8Array([net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255]);
  return makePrefix(4, bytes.subarray(0, (len + 7) >> 3), len);
}

describe('DestTable IPv4 index', () => {
  it('finds exactly the live prefixes under any creates and frees', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 6000 }),
        (ops) => {
          const t = new DestTable();
          const model = new Map<number, number>();
          for (const [create, k] of ops) {
            const p = prefixOf(k);
            if (create) {
              const d = t.findOrCreate(p);
              if (model.has(k)) assert.equal(d, model.get(k));
              model.set(k, d);
            } else if (model.has(k)) {
              t.free(model.get(k)!);
              model.delete(k);
            }
          }
          for (let k = 0; k <= 3000; k++) assert.equal(t.find(prefixOf(k)), model.get(k) ?? NONE, `prefix ${k}`);
          assert.equal(t.count, model.size);
          for (const d of model.values()) t.free(d);
          assert.deepEqual(
            { live: t.index4Stats.live, tombstones: t.index4Stats.tombstones },
            { live: 0, tombstones: 0 },
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refills a table emptied in place without growing it', () => {
    const t = new DestTable();
    const ids: number[] = [];
    for (let k = 0; k < 20_000; k++) ids.push(t.findOrCreate(prefixOf(k)));
    const slots = t.index4Stats.slots;
    // Free every other one first: tombstones stay in the middle of probe runs.
    for (let i = 0; i < ids.length; i += 2) t.free(ids[i]!);
    assert.ok(t.index4Stats.tombstones > 0);
    for (let k = 20_000; k < 30_000; k++) t.findOrCreate(prefixOf(k));
    for (let i = 1; i < ids.length; i += 2) assert.equal(t.find(prefixOf(i)), ids[i]);
    for (let i = 0; i < ids.length; i += 2) assert.equal(t.find(prefixOf(i)), NONE);
    assert.equal(t.index4Stats.slots, slots);
    assert.ok((t.index4Stats.live + t.index4Stats.tombstones) * 2 <= slots);
  });
});

it('growTypedArray: contents kept, tail filled, the old array never detached', () => {
  const a = new Int32Array(4).fill(7);
  const b = growTypedArray(a, 8, -1);
  assert.deepEqual([...b], [7, 7, 7, 7, -1, -1, -1, -1]);
  assert.deepEqual([...growTypedArray(new Uint8Array([3]), 3)], [3, 0, 0]);
  // A detach anywhere in the process slowed the RIB's typed-array work (see grow's comment).
  assert.equal(a.length, 4);
  assert.equal(a.buffer.byteLength, 16);
});

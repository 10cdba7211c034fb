import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ContentHash, hashEntries } from './content-hash.js';

test('the content hash does not depend on order and undoes removals', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(fc.string(), fc.uint8Array()), { selector: ([k]) => k, maxLength: 40 }),
      (entries) => {
        const forward = hashEntries(entries);
        assert.equal(hashEntries([...entries].reverse()), forward);
        const h = new ContentHash();
        for (const [k, v] of entries) h.toggle(k, v);
        h.toggle('extra', Buffer.from('x'));
        h.toggle('extra', Buffer.from('x'));
        assert.equal(h.hex(), forward);
      },
    ),
  );
});

test('different contents hash differently', () => {
  assert.notEqual(hashEntries([['a', Buffer.from('1')]]), hashEntries([['a', Buffer.from('2')]]));
  assert.notEqual(hashEntries([['a', Buffer.from('1')]]), hashEntries([['b', Buffer.from('1')]]));
  assert.equal(hashEntries([]), '0'.repeat(64));
});

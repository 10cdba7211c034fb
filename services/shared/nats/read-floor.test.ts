// The read floor's rules without a server: an answer below what was acknowledged or read is refused
// with a retryable error; a later revision or an unknown key passes; the stream floor follows
// every note. (replication.test.ts exercises it against a real 3-node cluster.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnavailableError } from '../errors/index.js';
import { ReadFloor, StaleReadError } from './read-floor.js';

test('answers below a key floor are refused as UNAVAILABLE (stale-read), others pass', () => {
  const floor = new ReadFloor();
  const refused: string[] = [];
  floor.onRefused = (err) => refused.push(err.message);
  floor.note('a', 10);
  floor.note('a', 7); // an older read does not lower the floor
  floor.note('b', 4);
  assert.equal(floor.of('a'), 10);
  assert.equal(floor.of('unknown'), 0);
  assert.equal(floor.stream, 10);
  floor.check('read a', 10, floor.of('a'));
  floor.check('read a', 12, floor.of('a'));
  floor.check('read unknown', 0, floor.of('unknown'));
  assert.throws(
    () => floor.check('read a', 9, floor.of('a')),
    (err: unknown) =>
      err instanceof StaleReadError &&
      err instanceof UnavailableError &&
      err.reason === 'stale-read' &&
      /revision 9, below revision 10/.test(err.message),
  );
  assert.throws(() => floor.check('read b', 0, floor.of('b')), /revision none, below revision 4/);
  assert.equal(floor.refused, 2);
  assert.equal(refused.length, 2);
  floor.noteStream(20);
  assert.equal(floor.stream, 20);
  assert.equal(floor.of('a'), 10);
});

test('a List lacking a key known here as a value before it began is found; deletions and later writes are not', () => {
  const floor = new ReadFloor();
  floor.note('profiles._.a', 5);
  floor.note('profiles._.b', 6);
  floor.note('profiles._.c', 7);
  floor.note('profiles._.c', 8, false); // deleted here: absence is right
  floor.note('pools._.a', 3);
  floor.note('profiles._.late', 20); // written after the List began at 10
  const listed = new Set(['profiles._.b']);
  assert.deepEqual(floor.missing('profiles.', listed, 10), [['profiles._.a', 5]]);
  assert.deepEqual(floor.missing('profiles.ns.', listed, 10), []);
  assert.deepEqual(floor.missing('pools.', new Set(), 10), [['pools._.a', 3]]);
});

test('a key whose floor is a deletion may be absent (its tombstone compacted); one whose floor is a value may not', () => {
  const floor = new ReadFloor();
  floor.note('profiles._.a', 5);
  floor.note('profiles._.a', 9, false);
  floor.note('profiles._.b', 7);
  assert.equal(floor.isDeletion('profiles._.a'), true);
  assert.equal(floor.isDeletion('profiles._.b'), false);
  assert.equal(floor.isDeletion('profiles._.unknown'), false);
  floor.note('profiles._.a', 11);
  assert.equal(floor.isDeletion('profiles._.a'), false, 'a value after the deletion');
});

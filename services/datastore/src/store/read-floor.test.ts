// The read floor's rules without a server: an answer below what was acknowledged or read is refused
// with a retryable error; a later revision or an unknown key passes; the stream floor follows
// every note. (replication.test.ts exercises it against a real 3-node cluster.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnavailableError } from '../../../shared/errors/index.js';
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

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { checkSnapshotContent } from './content.js';

test('agents of one node holding the same digest pass; one differing agent is counted', () => {
  const good = crc32(Buffer.from('view of n1'));
  const ok = checkSnapshotContent([
    { nodes: ['n1', 'n2'], digests: [good, 7] },
    { nodes: ['n1', 'n2'], digests: [good, 7] },
  ]);
  assert.deepEqual(ok, { nodes: 2, digestsPerNodeMax: 1, agentsDiffering: 0, agentsWithoutSnapshot: 0 });
  const bad = checkSnapshotContent([
    { nodes: ['n1', 'n1', 'n1'], digests: [good, good, crc32(Buffer.from('view of n2'))] },
    { nodes: ['n2'], digests: [0] },
  ]);
  assert.deepEqual(bad, { nodes: 2, digestsPerNodeMax: 2, agentsDiffering: 1, agentsWithoutSnapshot: 1 });
});

test('a report whose nodes and digests do not line up is refused', () => {
  assert.throws(() => checkSnapshotContent([{ nodes: ['n1'], digests: [] }]), /1 nodes but 0 digests/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashEntries } from './content-hash.js';
import { AgentState, type IncomingUpdate } from './state.js';

const up = (key: string, revision: number, value: string): IncomingUpdate => ({
  key,
  revision,
  value: Buffer.from(value),
  deleted: false,
});
const del = (key: string, revision: number): IncomingUpdate => ({
  key,
  revision,
  value: Buffer.alloc(0),
  deleted: true,
});

test('commits report net changes only and keep the hash current', () => {
  const s = AgentState.open(undefined, 'n1', 'agent');
  let changes = s.commit([up('nodes._.a', 1, '{"a":1}'), up('ippools._.p', 2, '{"p":1}')], 2, true, 'ds');
  assert.deepEqual(
    changes.map((c) => [c.kind, c.name, c.value?.toString()]),
    [
      ['Node', 'a', '{"a":1}'],
      ['IPPool', 'p', '{"p":1}'],
    ],
  );
  changes = s.commit([up('nodes._.a', 3, '{"a":1}'), del('nodes._.gone', 4), del('ippools._.p', 5)], 5, false, 'ds');
  assert.deepEqual(
    changes.map((c) => [c.key, c.value]),
    [['ippools._.p', undefined]],
    'same bytes and unknown deletions are no change',
  );
  assert.equal(s.revision, 5);
  assert.equal(s.contentHash, hashEntries([['nodes._.a', Buffer.from('{"a":1}')]]));
});

test('a replace drops what the new state does not contain', () => {
  const s = AgentState.open(undefined, 'n1', 'agent');
  s.commit([up('nodes._.a', 1, '1'), up('nodes._.b', 2, '2')], 2, true, 'ds');
  const changes = s.commit([up('nodes._.b', 2, '2'), up('nodes._.c', 7, '3')], 9, true, 'ds');
  assert.deepEqual(changes.map((c) => [c.key, c.value?.toString()]).sort(), [
    ['nodes._.a', undefined],
    ['nodes._.c', '3'],
  ]);
  assert.deepEqual([...s.keys()].sort(), ['nodes._.b', 'nodes._.c']);
});

test('the state survives a reopen (entries, revision, datastore, hash) and is dropped for another node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshless-agent-state-'));
  try {
    let s = AgentState.open(dir, 'n1', 'agent');
    s.commit([up('nodes._.a', 1, '1'), up('workloadendpoints.default.w', 2, '2')], 2, true, 'ds-1');
    s.commit([del('nodes._.a', 3)], 3, false, 'ds-1');
    s.bookmark(10);
    const hash = s.contentHash;
    await s.close();
    s = AgentState.open(dir, 'n1', 'agent');
    assert.equal(s.revision, 10);
    assert.equal(s.datastoreId, 'ds-1');
    assert.equal(s.contentHash, hash);
    assert.deepEqual([...s.keys()], ['workloadendpoints.default.w']);
    await s.close();
    s = AgentState.open(dir, 'n2', 'agent');
    assert.equal(s.revision, 0);
    assert.equal(s.size, 0);
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

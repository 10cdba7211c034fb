import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { SyncCompression, SyncFeature, type SyncClientHello } from '../../../../proto/gen/meshless/v1/sync.js';
import { chooseCompression } from './codec.js';
import { validateHello } from './hello.js';

const good: SyncClientHello = {
  node: 'node-1.rack-2',
  syncerType: 'agent',
  clientVersion: 'test',
  revision: 12,
  datastoreId: 'ds',
  compression: [SyncCompression.SYNC_COMPRESSION_DEFLATE, SyncCompression.SYNC_COMPRESSION_GZIP],
  features: [SyncFeature.SYNC_FEATURE_RECONNECT, 99 as SyncFeature],
  nodeScopedKeys: ['workloadendpoints.default.w1', 'hostendpoints._.eth0'],
};

test('a good hello is accepted with its first supported compression and its features', () => {
  const v = validateHello(good);
  assert.equal(v.syncer, 'agent');
  assert.equal(v.revision, 12);
  assert.equal(v.compression, SyncCompression.SYNC_COMPRESSION_DEFLATE);
  assert.equal(v.reconnect, true);
  assert.equal(validateHello({ ...good, revision: undefined, features: [] }).revision, 0);
  assert.equal(validateHello({ ...good, features: [] }).reconnect, false);
});

test('compression falls back to none for empty or unknown lists', () => {
  assert.equal(chooseCompression([]), SyncCompression.SYNC_COMPRESSION_NONE);
  assert.equal(chooseCompression([42 as SyncCompression]), SyncCompression.SYNC_COMPRESSION_NONE);
  assert.equal(
    chooseCompression([SyncCompression.SYNC_COMPRESSION_UNSPECIFIED, SyncCompression.SYNC_COMPRESSION_GZIP]),
    SyncCompression.SYNC_COMPRESSION_GZIP,
  );
});

const cases: Array<[string, Partial<SyncClientHello>, RegExp, string]> = [
  ['missing node', { node: '' }, /client_hello\.node: required/, 'client_hello.node'],
  ['invalid node', { node: 'Node_1' }, /client_hello\.node: 'Node_1' is not a valid node name/, 'client_hello.node'],
  ['too long node', { node: 'a'.repeat(254) }, /not a valid node name/, 'client_hello.node'],
  [
    'missing syncer',
    { syncerType: '' },
    /client_hello\.syncer_type: required \(one of agent, bgp\)/,
    'client_hello.syncer_type',
  ],
  [
    'unknown syncer',
    { syncerType: 'felix' },
    /client_hello\.syncer_type: unknown syncer type 'felix' \(known: agent, bgp\)/,
    'client_hello.syncer_type',
  ],
  [
    'long version',
    { clientVersion: 'v'.repeat(300) },
    /client_hello\.client_version: longer than 256/,
    'client_hello.client_version',
  ],
  ['long datastore id', { datastoreId: 'd'.repeat(300) }, /client_hello\.datastore_id/, 'client_hello.datastore_id'],
  [
    'not a key',
    { nodeScopedKeys: ['nonsense'] },
    /client_hello\.node_scoped_keys\[0\]: 'nonsense' is not the key of a node-scoped resource/,
    'client_hello.node_scoped_keys[0]',
  ],
  [
    'cluster-wide key',
    { nodeScopedKeys: ['workloadendpoints.default.w', 'ippools._.p'] },
    /node_scoped_keys\[1\]/,
    'client_hello.node_scoped_keys[1]',
  ],
  [
    'too many keys',
    { nodeScopedKeys: new Array(100_001).fill('workloadendpoints.default.w') },
    /100001 keys, more than 100000/,
    'client_hello.node_scoped_keys',
  ],
];

for (const [name, patch, message, field] of cases) {
  test(`hello rejected: ${name}`, () => {
    assert.throws(
      () => validateHello({ ...good, ...patch }),
      (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message) && err.field === field,
    );
  });
}

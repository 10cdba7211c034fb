import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  canonicalJson,
  checkPoolOverlap,
  isNamespaced,
  KINDS,
  parseDocuments,
  resolveKind,
  resourceName,
  ResourceError,
  validateResource,
  type IPPool,
} from './index.js';
import { assertInvalid, resource, valid, withField } from './test-support.js';

const EXAMPLES = join(import.meta.dirname, '../../../examples');
const pool = resource('IPPool', 'pool-a', { cidr: '10.0.0.0/16' });

test('every example in examples/ is valid, and validation is idempotent', () => {
  const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));
  for (const required of ['ippools.yaml', 'nodes.yaml', 'bgp.yaml', 'workloads.yaml', 'policies.yaml'])
    assert.ok(files.includes(required), required);
  const kinds = new Set<string>();
  for (const f of files) {
    for (const d of parseDocuments(readFileSync(join(EXAMPLES, f), 'utf8'), `examples/${f}`)) {
      const r = validateResource(d.object, { source: d.source, document: d.index });
      kinds.add(r.kind);
      assert.deepEqual(validateResource(JSON.parse(JSON.stringify(r))), r, `${f} document ${d.index}`);
    }
  }
  for (const k of [
    'Node',
    'IPPool',
    'WorkloadEndpoint',
    'HostEndpoint',
    'Profile',
    'NetworkPolicy',
    'GlobalNetworkPolicy',
    'BGPPeer',
    'BGPConfiguration',
  ]) {
    assert.ok(kinds.has(k), `examples cover ${k}`);
  }
});

test('error messages name source, document, item, kind, name and field', () => {
  const bad = withField(pool, 'spec.blockSize', 33);
  assert.equal(
    assertInvalid(bad, 'spec.blockSize', '33', { source: 'pools.yaml', document: 2 }).message,
    "pools.yaml document 2 (IPPool 'pool-a'): spec.blockSize: 33 is out of range for IPv4 (20-32)",
  );
  assert.equal(
    assertInvalid(bad, 'spec.blockSize', '33').message,
    "IPPool 'pool-a': spec.blockSize: 33 is out of range for IPv4 (20-32)",
  );
  const e = assertInvalid(bad, 'spec.blockSize', '33', { source: 'all.yaml', document: 1, item: 3 });
  assert.equal(
    e.message,
    "all.yaml document 1 item 3 (IPPool 'pool-a'): spec.blockSize: 33 is out of range for IPv4 (20-32)",
  );
  assert.equal(e.reason, '33 is out of range for IPv4 (20-32)');
  assert.equal(e.source, 'all.yaml');
  assert.equal(e.document, 1);
  assert.equal(e.item, 3);
  assert.equal(e.kind, 'IPPool');
  assert.equal(e.resourceName, 'pool-a');
  // Before the kind is known, the message has no kind.
  assert.equal(
    assertInvalid(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } },
      'apiVersion',
      'use projectcalico.org/v3',
      { source: 'f.yaml', document: 4 },
    ).message,
    'f.yaml document 4: apiVersion: "v1" is not supported: use projectcalico.org/v3',
  );
});

test('shape, apiVersion and kind', () => {
  for (const v of [null, 'text', 5, [pool]]) {
    const e = assertInvalid(v, undefined, 'expected a resource (a mapping with apiVersion, kind, metadata and spec)');
    assert.equal(e.field, undefined);
  }
  assertInvalid(withField(pool, 'apiVersion', undefined), 'apiVersion', 'is required (projectcalico.org/v3)');
  assertInvalid(
    withField(pool, 'apiVersion', 'projectcalico.org/v1'),
    'apiVersion',
    '"projectcalico.org/v1" is not supported: use projectcalico.org/v3',
  );
  assertInvalid(withField(pool, 'kind', undefined), 'kind', 'is required (one of Node, IPPool,');
  assertInvalid(withField(pool, 'kind', 'ippool'), 'kind', "unknown kind 'ippool' (did you mean 'IPPool'?)");
  assertInvalid(withField(pool, 'kind', 'Pod'), 'kind', "unknown kind 'Pod' (known kinds: Node, IPPool");
  assertInvalid(withField(pool, 'extra', 1), 'extra', "unknown field 'extra'");
  assertInvalid(withField(pool, 'status', {}), 'status', "unknown field 'status'");
  assertInvalid(withField(pool, 'spec', 'cidr'), 'spec', "expected a mapping, got a string ('cidr')");
});

test('metadata: name rules, namespaces, labels and annotations', () => {
  assertInvalid(withField(pool, 'metadata', undefined), 'metadata', 'is required (at least metadata.name)');
  assertInvalid(withField(pool, 'metadata', 'pool-a'), 'metadata', 'expected a mapping');
  assertInvalid(withField(pool, 'metadata.name', undefined), 'metadata.name', 'is required');
  assertInvalid(withField(pool, 'metadata.name', ''), 'metadata.name', 'is required');
  assertInvalid(withField(pool, 'metadata.name', 7), 'metadata.name', 'expected a string, got a number (7)');
  assertInvalid(
    withField(pool, 'metadata.name', 'Pool-A'),
    'metadata.name',
    "'Pool-A' is not a valid name: use lower case letters, digits, '-' and '.'",
  );
  assertInvalid(withField(pool, 'metadata.name', 'pool_a'), 'metadata.name', 'is not a valid name');
  assertInvalid(
    withField(pool, 'metadata.name', '-pool'),
    'metadata.name',
    'starting and ending with a letter or digit',
  );
  assertInvalid(
    withField(pool, 'metadata.name', 'a'.repeat(254)),
    'metadata.name',
    'is longer than 253 characters (254)',
  );
  assert.equal(
    valid(withField(pool, 'metadata.name', `${'a'.repeat(63)}.${'b'.repeat(63)}`)).metadata.name.length,
    127,
  );
  assertInvalid(withField(pool, 'metadata.nmae', 'x'), 'metadata.nmae', "unknown field 'nmae' (did you mean 'name'?)");
  assertInvalid(
    withField(pool, 'metadata.namespace', 'default'),
    'metadata.namespace',
    'IPPool is not namespaced: remove metadata.namespace',
  );
  const np = resource('NetworkPolicy', 'allow', {});
  assert.equal(valid(np).metadata.namespace, 'default');
  assert.equal(valid(withField(np, 'metadata.namespace', 'kube-system')).metadata.namespace, 'kube-system');
  assertInvalid(
    withField(np, 'metadata.namespace', 'a.b'),
    'metadata.namespace',
    "'a.b' is not a valid DNS-1123 label",
  );
  assertInvalid(
    withField(np, 'metadata.namespace', 'n'.repeat(64)),
    'metadata.namespace',
    'is longer than 63 characters',
  );
  assertInvalid(
    withField(pool, 'metadata.labels', { 'bad key!': 'x' }),
    'metadata.labels["bad key!"]',
    "key 'bad key!': name part must be letters, digits",
  );
  assertInvalid(
    withField(pool, 'metadata.labels', { 'Example.com/x': 'y' }),
    'metadata.labels["Example.com/x"]',
    'prefix must be a DNS-1123 subdomain',
  );
  assertInvalid(
    withField(pool, 'metadata.labels', { ['k'.repeat(64)]: 'y' }),
    `metadata.labels["${'k'.repeat(64)}"]`,
    'name part is longer than 63 characters',
  );
  assertInvalid(
    withField(pool, 'metadata.labels', { app: 'a b' }),
    'metadata.labels["app"]',
    "value 'a b' must be letters, digits",
  );
  assertInvalid(
    withField(pool, 'metadata.labels', { app: 'v'.repeat(64) }),
    'metadata.labels["app"]',
    'is longer than 63 characters',
  );
  // calicoctl reads unquoted scalar label values as text.
  assert.deepEqual(
    valid(withField(pool, 'metadata.labels', { rack: 1, routeReflector: true, empty: null })).metadata.labels,
    { rack: '1', routeReflector: 'true', empty: '' },
  );
  assertInvalid(
    withField(pool, 'metadata.labels', { app: [1] }),
    'metadata.labels["app"]',
    'expected a string value, got a list',
  );
  assertInvalid(
    withField(pool, 'metadata.annotations', { app: 1 }),
    'metadata.annotations["app"]',
    'expected a string value, got a number (1) (quote it in YAML)',
  );
  assertInvalid(withField(pool, 'metadata.labels', { '': 'x' }), 'metadata.labels[""]', 'key must not be empty');
  assertInvalid(
    withField(pool, 'metadata.labels', { 'example.com/': 'x' }),
    'metadata.labels["example.com/"]',
    "key 'example.com/' has an empty name",
  );
  assertInvalid(
    withField(pool, 'metadata.labels', ['app']),
    'metadata.labels',
    'expected a mapping of strings, got a list',
  );
  assert.deepEqual(valid(withField(pool, 'metadata.labels', { 'example.com/rack': 'a', empty: '' })).metadata.labels, {
    'example.com/rack': 'a',
    empty: '',
  });
  assertInvalid(
    withField(pool, 'metadata.annotations', { '/x': 'y' }),
    'metadata.annotations["/x"]',
    "key '/x' has an empty prefix before '/'",
  );
  assertInvalid(
    withField(pool, 'metadata.annotations', { a: 'x'.repeat(200 * 1024), b: 'y'.repeat(100 * 1024) }),
    'metadata.annotations',
    'total size of annotations is 307202 bytes, more than the limit of 262144',
  );
  assertInvalid(withField(pool, 'metadata.generation', -1), 'metadata.generation', '-1 is out of range');
  assertInvalid(withField(pool, 'metadata.resourceVersion', true), 'metadata.resourceVersion', 'expected a string');
  assert.equal(valid(withField(pool, 'metadata.resourceVersion', 17)).metadata.resourceVersion, '17');
  const exported = valid(
    withField(pool, 'metadata', {
      name: 'pool-a',
      uid: 'u-1',
      resourceVersion: '42',
      creationTimestamp: '2024-01-01T00:00:00Z',
    }),
  );
  assert.equal(exported.metadata.resourceVersion, '42');
});

test('type errors are named precisely', () => {
  assertInvalid(
    withField(pool, 'spec.natOutgoing', 'yes'),
    'spec.natOutgoing',
    "expected true or false, got a string ('yes')",
  );
  assertInvalid(withField(pool, 'spec.blockSize', '26'), 'spec.blockSize', "expected an integer, got a string ('26')");
  assertInvalid(withField(pool, 'spec.blockSize', 26.5), 'spec.blockSize', 'expected an integer, got a number (26.5)');
  assertInvalid(
    withField(pool, 'spec.allowedUses', 'Workload'),
    'spec.allowedUses',
    "expected a list, got a string ('Workload')",
  );
  assertInvalid(withField(pool, 'spec.allowedUses', ['Workload', null]), 'spec.allowedUses[1]', 'must not be null');
  assertInvalid(
    withField(pool, 'spec.ipipMode', 'always'),
    'spec.ipipMode',
    "'always' is not one of Never, Always, CrossSubnet (did you mean 'Always'?)",
  );
  assertInvalid(
    withField(pool, 'spec.ipipMode', 1),
    'spec.ipipMode',
    'expected one of Never, Always, CrossSubnet, got a number (1)',
  );
  assertInvalid(
    withField(pool, 'spec.cidrr', '10.0.0.0/8'),
    'spec.cidrr',
    "unknown field 'cidrr' (did you mean 'cidr'?)",
  );
  assertInvalid(
    withField(pool, 'spec.zzzzzzzz', 1),
    'spec.zzzzzzzz',
    "unknown field 'zzzzzzzz' (known fields: cidr, blockSize,",
  );
  // null means absent, as in Kubernetes.
  assert.equal((valid(withField(pool, 'spec.natOutgoing', null)) as IPPool).spec.natOutgoing, false);
});

test('kinds table, aliases and namespacing', () => {
  // Every projectcalico.org/v3 kind calicoctl manages, plus Meshless's LearnedRoute and IPAMHandle.
  assert.equal(KINDS.length, 26);
  const cases: [string, string | undefined][] = [
    ['ippool', 'IPPool'],
    ['IPPools', 'IPPool'],
    ['ipp', 'IPPool'],
    ['pools', 'IPPool'],
    ['bgpp', 'BGPPeer'],
    ['bp', 'BGPPeer'],
    ['no', 'Node'],
    ['nodes', 'Node'],
    ['wep', 'WorkloadEndpoint'],
    ['hep', 'HostEndpoint'],
    ['gnp', 'GlobalNetworkPolicy'],
    ['np', 'NetworkPolicy'],
    ['networkpolicy', 'NetworkPolicy'],
    ['bgpconfig', 'BGPConfiguration'],
    ['pro', 'Profile'],
    ['ipamblock', 'IPAMBlock'],
    ['blockaffinities', 'BlockAffinity'],
    ['ipamhandles', 'IPAMHandle'],
    ['LearnedRoutes', 'LearnedRoute'],
    [' GNPs ', 'GlobalNetworkPolicy'],
    ['felixconfig', 'FelixConfiguration'],
    ['bgpf', 'BGPFilter'],
    ['sknp', 'StagedKubernetesNetworkPolicy'],
    ['snp', 'StagedNetworkPolicy'],
    ['sgnp', 'StagedGlobalNetworkPolicy'],
    ['netsets', 'NetworkSet'],
    ['gnetsets', 'GlobalNetworkSet'],
    ['reservations', 'IPReservation'],
    ['ipamconfig', 'IPAMConfiguration'],
    ['clusterinfo', 'ClusterInformation'],
    ['caliconodestatuses', 'CalicoNodeStatus'],
    ['kubecontrollersconfig', 'KubeControllersConfiguration'],
    ['tiers', 'Tier'],
    ['pod', undefined],
    ['', undefined],
  ];
  for (const [text, kind] of cases) assert.equal(resolveKind(text), kind, text);
  const aliases = KINDS.flatMap((k) => [...k.aliases, k.plural]);
  for (const k of KINDS) assert.ok(k.aliases.includes(k.plural));
  assert.equal(
    new Set(KINDS.flatMap((k) => k.aliases)).size,
    KINDS.flatMap((k) => k.aliases).length,
    'aliases are unique',
  );
  assert.ok(aliases.length > 30);
  assert.deepEqual(
    KINDS.filter((k) => k.namespaced).map((k) => k.kind),
    ['WorkloadEndpoint', 'NetworkPolicy', 'NetworkSet', 'StagedNetworkPolicy', 'StagedKubernetesNetworkPolicy'],
  );
  assert.equal(isNamespaced('NetworkPolicy'), true);
  assert.equal(isNamespaced('IPPool'), false);
  assert.equal(resourceName(pool), 'pool-a');
  assert.equal(resourceName({ metadata: {} }), undefined);
  assert.equal(resourceName('x'), undefined);
});

test('canonicalJson sorts keys at every level and drops undefined', () => {
  const a = { spec: { b: 1, a: [{ y: 2, x: 1 }] }, kind: 'K', skip: undefined };
  const b = { kind: 'K', spec: { a: [{ x: 1, y: 2 }], b: 1 } };
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.equal(canonicalJson(b), '{"kind":"K","spec":{"a":[{"x":1,"y":2}],"b":1}}');
  assert.equal(canonicalJson(valid(pool)), canonicalJson(valid(JSON.parse(canonicalJson(valid(pool))))));
});

test('checkPoolOverlap: pools must not overlap; a pool may overlap its own old version', () => {
  const p = (name: string, cidr: string) => valid(resource('IPPool', name, { cidr })) as IPPool;
  const existing = [p('a', '10.0.0.0/16'), p('b', 'fd00::/48')];
  assert.equal(checkPoolOverlap(p('c', '10.1.0.0/16'), existing), undefined);
  assert.equal(checkPoolOverlap(p('c', '10.0.128.0/20'), existing), "10.0.128.0/20 overlaps IPPool 'a' (10.0.0.0/16)");
  assert.equal(checkPoolOverlap(p('c', '10.0.0.0/8'), existing), "10.0.0.0/8 overlaps IPPool 'a' (10.0.0.0/16)");
  assert.equal(
    checkPoolOverlap(p('c', 'fd00:0:0:1::/64'), existing),
    "fd00:0:0:1::/64 overlaps IPPool 'b' (fd00::/48)",
  );
  assert.equal(checkPoolOverlap(p('a', '10.0.0.0/15'), existing), undefined, 'update of pool a itself');
});

test('ResourceError is an InvalidArgumentError carrying the field for gRPC', () => {
  const e = assertInvalid(withField(pool, 'spec.cidr', 'nope'), 'spec.cidr', "'nope' is not a CIDR");
  assert.ok(e instanceof ResourceError);
  assert.equal(e.name, 'ResourceError');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCommunity,
  durationMs,
  learnedRouteName,
  resourceWarnings,
  splitPeerAddress,
  type BGPConfiguration,
  type BGPPeer,
  type LearnedRoute,
} from './index.js';
import { assertInvalid, resource, valid, withField, withFields } from './test-support.js';

const peer = resource('BGPPeer', 'rack-a-tor', {
  nodeSelector: "rack == 'a'",
  peerIP: '10.0.1.1',
  asNumber: 65101,
  password: { secretKeyRef: { name: 'bgp-secrets', key: 'rack-a' } },
  sourceAddress: 'UseNodeIP',
  failureDetectionMode: 'BFDIfDirectlyConnected',
  restartMode: 'GracefulRestart',
  maxRestartTime: '120s',
  keepaliveTime: '30s',
  birdGatewayMode: 'DirectIfDirectlyConnected',
  numAllowedLocalASNumbers: 1,
  ttlSecurity: 1,
  reachableBy: '10.0.1.254',
  filters: ['export-only-pods'],
});
const rrPeer = resource('BGPPeer', 'to-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" });

test('BGPPeer: valid peers; peerIP with ports and asdot AS numbers normalized', () => {
  assert.equal((valid(peer) as BGPPeer).spec.peerIP, '10.0.1.1');
  assert.equal(valid(rrPeer).kind, 'BGPPeer');
  const cases: [string, string][] = [
    ['10.0.1.1:1790', '10.0.1.1:1790'],
    ['[FD00::1]:179', '[fd00::1]:179'],
    ['fd00:0::1', 'fd00::1'],
    ['fd00::1:179', 'fd00::1:179'],
  ];
  for (const [input, out] of cases) {
    assert.equal(
      (valid(withFields(peer, { 'spec.peerIP': input, 'spec.reachableBy': undefined })) as BGPPeer).spec.peerIP,
      out,
      input,
    );
  }
  assert.deepEqual(splitPeerAddress('[fd00::1]:179'), { ip: 'fd00::1', port: 179 });
  assert.deepEqual(splitPeerAddress('10.0.1.1:1790'), { ip: '10.0.1.1', port: 1790 });
  assert.deepEqual(splitPeerAddress('10.0.1.1'), { ip: '10.0.1.1' });
  assert.equal((valid(withField(peer, 'spec.asNumber', '65000.102')) as BGPPeer).spec.asNumber, 65000 * 65536 + 102);
  assert.equal(
    valid(
      resource('BGPPeer', 'one-node', {
        node: 'node-a1',
        peerIP: 'fd00::1',
        asNumber: 4200000001,
        keepOriginalNextHop: true,
      }),
    ).kind,
    'BGPPeer',
  );
  assert.equal(
    valid(resource('BGPPeer', 'local-wl', { localWorkloadSelector: "app == 'bgp'", asNumber: 65500 })).kind,
    'BGPPeer',
  );
  assert.equal(durationMs('1h30m'), 5_400_000);
  assert.equal(durationMs('500ms'), 500);
});

test('BGPPeer: every rule', () => {
  assertInvalid(
    withField(peer, 'spec.node', 'node-a1'),
    'spec.nodeSelector',
    'node and nodeSelector cannot both be set',
  );
  assertInvalid(withField(peer, 'spec.node', 'Node 1'), 'spec.node', "'Node 1' is not a valid name");
  assertInvalid(
    withField(rrPeer, 'spec.peerIP', '10.0.0.1'),
    'spec.peerSelector',
    'peerIP and peerSelector cannot both be set',
  );
  assertInvalid(withField(rrPeer, 'spec.asNumber', 64512), 'spec.asNumber', 'must be empty when peerSelector is set');
  // Calico accepts a peer with no peerIP/peerSelector and a peerIP without asNumber: warnings, not errors.
  assert.deepEqual(valid(resource('BGPPeer', 'p', { node: 'n1', ttlSecurity: 1 })).spec, {
    node: 'n1',
    ttlSecurity: 1,
  });
  assert.equal((valid(withField(peer, 'spec.asNumber', undefined)) as BGPPeer).spec.peerIP, '10.0.1.1');
  assert.deepEqual(
    resourceWarnings(valid(resource('BGPPeer', 'p', { node: 'n1', ttlSecurity: 1 }))).map((w) => w.field),
    ['spec.peerIP'],
  );
  assert.deepEqual(
    resourceWarnings(valid(withField(peer, 'spec.asNumber', undefined))).map((w) => w.field),
    ['spec.asNumber'],
  );
  assertInvalid(
    withField(peer, 'spec.asNumber', 0),
    'spec.asNumber',
    '0 is out of range for an AS number (1-4294967295)',
  );
  assertInvalid(
    withField(peer, 'spec.asNumber', '70000.1'),
    'spec.asNumber',
    'each half of an asdot AS number must be 0-65535',
  );
  assertInvalid(withField(peer, 'spec.localASNumber', -5), 'spec.localASNumber', 'is out of range for an AS number');
  const lw = resource('BGPPeer', 'lw', { localWorkloadSelector: "app == 'bgp'", asNumber: 65500 });
  assertInvalid(
    withField(lw, 'spec.peerIP', '10.0.0.1'),
    'spec.peerIP',
    'must be empty when localWorkloadSelector is set',
  );
  assertInvalid(
    withField(lw, 'spec.peerSelector', 'has(x)'),
    'spec.peerSelector',
    'must be empty when localWorkloadSelector is set',
  );
  assertInvalid(
    withField(lw, 'spec.asNumber', undefined),
    'spec.asNumber',
    'is required when localWorkloadSelector is set',
  );
  assertInvalid(
    withField(rrPeer, 'spec.reachableBy', '10.0.0.1'),
    'spec.reachableBy',
    'must be empty when peerIP is empty',
  );
  assertInvalid(
    withField(peer, 'spec.reachableBy', 'fd00::1'),
    'spec.reachableBy',
    'fd00::1 is not the same address family as peerIP 10.0.1.1',
  );
  assertInvalid(
    withField(peer, 'spec.reachableBy', 'gateway'),
    'spec.reachableBy',
    "'gateway' is not a valid IP address",
  );
});

test('BGPPeer: field formats', () => {
  const p = withField(peer, 'spec.reachableBy', undefined);
  for (const [bad, message] of [
    ['10.0.1.1:0', "'10.0.1.1:0': port must be 1-65535"],
    ['10.0.1.1:70000', "'10.0.1.1:70000': port must be 1-65535"],
    ['[10.0.1.1]:179', "'[10.0.1.1]:179': brackets are only for IPv6 addresses"],
    ['[fd00::1]', 'write IPv6 with a port as [address]:port'],
    ['tor.example.com:179', "'tor.example.com:179' is not a valid IP address"],
    ['10.0.1.1/32', 'is not a valid IP address (use an address, a.b.c.d:port or [ipv6]:port)'],
  ] as const) {
    assertInvalid(withField(p, 'spec.peerIP', bad), 'spec.peerIP', message);
  }
  assertInvalid(
    withFields(peer, { 'spec.keepOriginalNextHop': true, 'spec.nextHopMode': 'Keep' }),
    'spec.nextHopMode',
    'keepOriginalNextHop and nextHopMode cannot both be set',
  );
  assertInvalid(
    withField(peer, 'spec.nextHopMode', 'Other'),
    'spec.nextHopMode',
    "'Other' is not one of Auto, Self, Keep",
  );
  assertInvalid(
    withField(peer, 'spec.password.secretKeyRef.key', undefined),
    'spec.password.secretKeyRef.key',
    'is required',
  );
  assertInvalid(
    withField(peer, 'spec.password', { secretKeyRef: { name: 'Bad Name', key: 'k' } }),
    'spec.password.secretKeyRef.name',
    'is not a valid name',
  );
  assertInvalid(withField(peer, 'spec.password', 'hunter2'), 'spec.password', 'expected a mapping');
  assertInvalid(
    withField(peer, 'spec.sourceAddress', 'NodeIP'),
    'spec.sourceAddress',
    "'NodeIP' is not one of UseNodeIP, None",
  );
  assertInvalid(
    withField(peer, 'spec.failureDetectionMode', 'BFD'),
    'spec.failureDetectionMode',
    "'BFD' is not one of None, BFDIfDirectlyConnected",
  );
  assertInvalid(
    withField(peer, 'spec.restartMode', 'Graceful'),
    'spec.restartMode',
    "'Graceful' is not one of GracefulRestart, LongLivedGracefulRestart",
  );
  assertInvalid(
    withField(peer, 'spec.birdGatewayMode', 'Direct'),
    'spec.birdGatewayMode',
    "'Direct' is not one of Recursive, DirectIfDirectlyConnected",
  );
  assertInvalid(
    withField(peer, 'spec.maxRestartTime', '2 minutes'),
    'spec.maxRestartTime',
    "'2 minutes' is not a duration (e.g. 120s, 2m, 1h30m)",
  );
  assertInvalid(
    withField(peer, 'spec.keepaliveTime', 30),
    'spec.keepaliveTime',
    'expected a string, got a number (30)',
  );
  assertInvalid(
    withField(peer, 'spec.numAllowedLocalASNumbers', -1),
    'spec.numAllowedLocalASNumbers',
    '-1 is out of range',
  );
  assertInvalid(
    withField(peer, 'spec.ttlSecurity', 256),
    'spec.ttlSecurity',
    '256 is out of range for ttlSecurity hops (0-255)',
  );
  assertInvalid(withField(peer, 'spec.filters', ['Export']), 'spec.filters[0]', "'Export' is not a valid name");
  assertInvalid(withField(peer, 'spec.filters', ['a', 'a']), 'spec.filters[1]', 'duplicates spec.filters[0]');
  assertInvalid(
    withField(peer, 'spec.nodeSelector', 'global()'),
    'spec.nodeSelector',
    'global() is not valid in a BGPPeer nodeSelector',
  );
  assertInvalid(
    withField(rrPeer, 'spec.peerSelector', 'route-reflector == true'),
    'spec.peerSelector',
    "invalid selector at position 19: expected a quoted string after '==', found label 'true'",
  );
  assertInvalid(
    withField(rrPeer, 'spec.peerSelector', 'global()'),
    'spec.peerSelector',
    'global() is not valid in a BGPPeer peerSelector',
  );
  assertInvalid(
    resource('BGPPeer', 'lw', { localWorkloadSelector: 'global()', asNumber: 65500 }),
    'spec.localWorkloadSelector',
    'global() is not valid in a BGPPeer localWorkloadSelector',
  );
  assertInvalid(
    withField(peer, 'spec.reversePeering', 'Always'),
    'spec.reversePeering',
    "'Always' is not one of Auto, Manual",
  );
  // Field names match in any case, as in Calico's decoder; two spellings of one field are an error.
  assert.equal(
    (valid(withFields(peer, { 'spec.peerIP': undefined, 'spec.peerIp': '10.0.0.9' })).spec as { peerIP?: string })
      .peerIP,
    '10.0.0.9',
  );
  assertInvalid(withField(peer, 'spec.peerIp', '10.0.0.1'), 'spec.peerIP', "is given twice, as 'peerIP' and 'peerIp'");
  assertInvalid(withField(peer, 'spec.peerAddress', '10.0.0.1'), 'spec.peerAddress', "unknown field 'peerAddress'");
});

const config = resource('BGPConfiguration', 'default', {
  nodeToNodeMeshEnabled: false,
  serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
  serviceExternalIPs: [{ cidr: '192.0.2.10' }],
  communities: [{ name: 'pods', value: '64512:300:100' }],
  prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['pods', '64512:120'] }],
  bindMode: 'NodeIP',
  ignoredInterfaces: ['docker*', 'kube-ipvs0'],
  localWorkloadPeeringIPV4: '169.254.0.179',
});

test('BGPConfiguration: defaults on "default", per-node configurations', () => {
  const c = valid(config) as BGPConfiguration;
  assert.equal(c.spec.asNumber, 64512);
  assert.equal(c.spec.listenPort, 179);
  assert.equal(c.spec.logSeverityScreen, 'Info');
  assert.equal(c.spec.nodeToNodeMeshEnabled, false);
  assert.deepEqual(c.spec.serviceExternalIPs, [{ cidr: '192.0.2.10/32' }]);
  const bare = valid(resource('BGPConfiguration', 'default', {})) as BGPConfiguration;
  assert.equal(bare.spec.nodeToNodeMeshEnabled, true);
  assert.equal(bare.spec.asNumber, 64512);
  assert.equal(
    (valid(withField(config, 'spec.logSeverityScreen', 'debug')) as BGPConfiguration).spec.logSeverityScreen,
    'Debug',
  );
  assert.equal((valid(withField(config, 'spec.asNumber', '1.10')) as BGPConfiguration).spec.asNumber, 65546);
  const perNode = valid(
    resource('BGPConfiguration', 'node.node-a1', { listenPort: 1790, logSeverityScreen: 'Warning' }),
  ) as BGPConfiguration;
  assert.equal(perNode.spec.asNumber, undefined);
  assert.equal(perNode.spec.nodeToNodeMeshEnabled, undefined);
  assert.equal(perNode.spec.listenPort, 1790);
  assert.equal(checkCommunity('65535:65535'), undefined);
  assert.equal(checkCommunity('4294967295:0:4294967295'), undefined);
});

test('BGPConfiguration: every rule', () => {
  const node = resource('BGPConfiguration', 'node.node-a1', {});
  assertInvalid(
    withField(node, 'spec.asNumber', 65000),
    'spec.asNumber',
    "only the BGPConfiguration named 'default' may set asNumber",
  );
  assertInvalid(
    withField(node, 'spec.nodeToNodeMeshEnabled', true),
    'spec.nodeToNodeMeshEnabled',
    "only the BGPConfiguration named 'default' may set nodeToNodeMeshEnabled",
  );
  assertInvalid(
    withField(node, 'spec.serviceClusterIPs', [{ cidr: '10.96.0.0/12' }]),
    'spec.serviceClusterIPs',
    "only the BGPConfiguration named 'default'",
  );
  assertInvalid(
    withField(config, 'spec.logSeverityScreen', 'Verbose'),
    'spec.logSeverityScreen',
    '"Verbose" is not one of Trace, Debug, Info, Warning, Error, Fatal',
  );
  assertInvalid(withField(config, 'spec.listenPort', 0), 'spec.listenPort', '0 is out of range for a port (1-65535)');
  assertInvalid(
    withField(config, 'spec.listenPort', 65536),
    'spec.listenPort',
    '65536 is out of range for a port (1-65535)',
  );
  assertInvalid(withField(config, 'spec.asNumber', 4294967296), 'spec.asNumber', 'out of range for an AS number');
  assertInvalid(
    withField(config, 'spec.serviceClusterIPs[0].cidr', '10.96.0.1/12'),
    'spec.serviceClusterIPs[0].cidr',
    'is not strictly masked',
  );
  // Calico's rule is omitempty: an empty item is valid (and ignored by the consumers).
  assert.deepEqual(
    (valid(withField(config, 'spec.serviceLoadBalancerIPs', [{}])).spec as { serviceLoadBalancerIPs: unknown })
      .serviceLoadBalancerIPs,
    [{}],
  );
  for (const mode of ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly']) {
    assert.equal(
      (valid(withField(config, 'spec.programClusterRoutes', mode)).spec as { programClusterRoutes: string })
        .programClusterRoutes,
      mode,
    );
  }
  assertInvalid(
    withField(config, 'spec.programClusterRoutes', 'enabled'),
    'spec.programClusterRoutes',
    "did you mean 'Enabled'",
  );
  assertInvalid(
    withField(config, 'spec.communities[0].value', '65000'),
    'spec.communities[0].value',
    "'65000' is not a community (standard 'aa:nn' or large 'aa:nn:mm')",
  );
  assertInvalid(
    withField(config, 'spec.communities[0].value', '65536:1'),
    'spec.communities[0].value',
    "'65536:1': standard community parts must be 0-65535",
  );
  assertInvalid(
    withField(config, 'spec.communities[0].value', '1:4294967296:1'),
    'spec.communities[0].value',
    'large community parts must be 0-4294967295',
  );
  assertInvalid(
    withField(config, 'spec.communities[0].value', 'a:b'),
    'spec.communities[0].value',
    'is not a community',
  );
  assertInvalid(
    withField(config, 'spec.communities[0].name', 'Pods'),
    'spec.communities[0].name',
    "'Pods' is not a valid name",
  );
  assertInvalid(
    withField(config, 'spec.communities[1]', { name: 'pods', value: '1:1' }),
    'spec.communities[1].name',
    "'pods' is defined twice",
  );
  assertInvalid(
    withField(config, 'spec.prefixAdvertisements', undefined),
    'spec.communities',
    'communities are defined but not used in prefixAdvertisements',
  );
  assertInvalid(
    withField(config, 'spec.prefixAdvertisements[0].communities[0]', 'nodes'),
    'spec.prefixAdvertisements[0].communities[0]',
    "'nodes' is neither a community value ('aa:nn' or 'aa:nn:mm') nor a name defined in communities",
  );
  assertInvalid(
    withField(config, 'spec.prefixAdvertisements[0].communities', undefined),
    'spec.prefixAdvertisements[0].communities',
    'is required',
  );
  assertInvalid(
    withField(config, 'spec.prefixAdvertisements[0].cidr', '10.244.0.1/16'),
    'spec.prefixAdvertisements[0].cidr',
    'is not strictly masked',
  );
  assertInvalid(
    withField(config, 'spec.nodeMeshPassword', { secretKeyRef: { name: 's', key: 'k' } }),
    'spec.nodeMeshPassword',
    'cannot be set when nodeToNodeMeshEnabled is false',
  );
  assertInvalid(
    withField(config, 'spec.nodeMeshMaxRestartTime', '120s'),
    'spec.nodeMeshMaxRestartTime',
    'cannot be set when nodeToNodeMeshEnabled is false',
  );
  assertInvalid(
    withFields(config, { 'spec.nodeToNodeMeshEnabled': true, 'spec.nodeMeshMaxRestartTime': 'soon' }),
    'spec.nodeMeshMaxRestartTime',
    "'soon' is not a duration",
  );
  assertInvalid(withField(config, 'spec.bindMode', 'All'), 'spec.bindMode', "'All' is not one of None, NodeIP");
  assertInvalid(
    withField(config, 'spec.ignoredInterfaces', ['*']),
    'spec.ignoredInterfaces[0]',
    "'*' is not a valid interface name or pattern",
  );
  assertInvalid(
    withField(config, 'spec.ignoredInterfaces', ['a-very-long-interface*']),
    'spec.ignoredInterfaces[0]',
    'is not a valid interface name or pattern',
  );
  assertInvalid(
    withField(config, 'spec.localWorkloadPeeringIPV4', 'fd00::1'),
    'spec.localWorkloadPeeringIPV4',
    "'fd00::1' is not an IPv4 address",
  );
  assertInvalid(
    withField(config, 'spec.localWorkloadPeeringIPV6', '10.0.0.1'),
    'spec.localWorkloadPeeringIPV6',
    "'10.0.0.1' is not an IPv6 address",
  );
  assertInvalid(
    withField(config, 'spec.communities', new Array(501).fill({ name: 'a', value: '1:1' })),
    'spec.communities',
    'has 501 items, more than the limit of 500',
  );
});

const route = resource('LearnedRoute', learnedRouteName('rr-0', '10.0.1.1', '192.168.0.0/24'), {
  prefix: '192.168.0.0/24',
  nextHop: '10.0.1.1',
  asPath: [65101, '1.10'],
  communities: ['65101:100', '65101:1:2'],
  learnedBy: 'rr-0',
  peer: '10.0.1.1',
});

test('LearnedRoute: valid, and its rules', () => {
  assert.equal(route.metadata && (route.metadata as { name: string }).name, 'rr-0.10-0-1-1.192-168-0-0-24');
  assert.equal(learnedRouteName('rr-0', 'fd00::', '::/0'), 'rr-0.fd00--0.0--0-0');
  const r = valid(route) as LearnedRoute;
  assert.deepEqual(r.spec.asPath, [65101, 65546]);
  assert.deepEqual(
    (valid(withFields(route, { 'spec.asPath': undefined, 'spec.communities': undefined })) as LearnedRoute).spec.asPath,
    [],
  );
  assertInvalid(withField(route, 'spec.prefix', '192.168.0.1/24'), 'spec.prefix', 'is not strictly masked');
  assertInvalid(withField(route, 'spec.prefix', undefined), 'spec.prefix', 'is required');
  assertInvalid(withField(route, 'spec.nextHop', 'self'), 'spec.nextHop', "'self' is not a valid IP address");
  assertInvalid(withField(route, 'spec.asPath[1]', 0), 'spec.asPath[1]', '0 is out of range for an AS number');
  assertInvalid(
    withField(route, 'spec.communities[0]', 'no-export'),
    'spec.communities[0]',
    "'no-export' is not a community",
  );
  assertInvalid(withField(route, 'spec.learnedBy', undefined), 'spec.learnedBy', 'is required');
  assertInvalid(withField(route, 'spec.peer', '10.0.1.1:179'), 'spec.peer', 'is not a valid IP address');
});

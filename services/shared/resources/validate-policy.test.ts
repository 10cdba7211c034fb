import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalNetworkPolicy, NetworkPolicy, Profile } from './index.js';
import { assertInvalid, resource, valid, withField, withFields } from './test-support.js';

const np = resource(
  'NetworkPolicy',
  'allow-frontend',
  {
    order: 100.5,
    selector: "app == 'backend'",
    ingress: [
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { selector: "app == 'frontend'", namespaceSelector: 'global()', nets: ['10.244.0.0/16', '10.1.2.3'] },
        destination: { ports: [8080, '9000:9099', 'grpc', '443'], notPorts: ['9050'] },
        http: { methods: ['GET', 'POST'], paths: [{ prefix: '/api' }, { exact: '/healthz' }] },
        metadata: { annotations: { 'example.com/why': 'frontend calls the API' } },
      },
      { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 }, ipVersion: 4 },
      { action: 'Deny', notProtocol: 'ICMPv6', notICMP: { type: 128 }, source: { notNets: ['fd00::/8'] } },
      { action: 'Pass', source: { serviceAccounts: { names: ['api'], selector: "team == 'web'" } } },
      { action: 'Log', destination: { ports: ['http'] } },
    ],
    egress: [{ action: 'Allow', destination: { services: { name: 'kube-dns', namespace: 'kube-system' } } }],
  },
  { metadata: { namespace: 'prod' } },
);
const rule0 = 'spec.ingress[0]';

const gnp = resource('GlobalNetworkPolicy', 'default.host-protect', {
  order: 10,
  selector: 'has(host-endpoint)',
  namespaceSelector: "projectcalico.org/name == 'x'",
  preDNAT: true,
  applyOnForward: true,
  types: ['Ingress'],
  ingress: [{ action: 'Allow', protocol: 'TCP', source: { services: { name: 'api', namespace: 'prod' } } }],
});

test('NetworkPolicy: valid, defaults and normalization', () => {
  const p = valid(np) as NetworkPolicy;
  assert.equal(p.spec.tier, 'default');
  assert.deepEqual(p.spec.types, ['Ingress', 'Egress']);
  assert.deepEqual(p.spec.ingress?.[0]?.source?.nets, ['10.244.0.0/16', '10.1.2.3/32']);
  assert.deepEqual(p.spec.ingress?.[0]?.destination?.ports, [8080, '9000:9099', 'grpc', 443]);
  assert.deepEqual(p.spec.ingress?.[0]?.destination?.notPorts, [9050]);
  assert.equal(p.metadata.namespace, 'prod');
  const bare = valid(resource('NetworkPolicy', 'p', {})) as NetworkPolicy;
  assert.equal(bare.spec.selector, 'all()');
  assert.deepEqual(bare.spec.types, ['Ingress']);
  assert.deepEqual(
    (valid(resource('NetworkPolicy', 'p', { egress: [{ action: 'Deny' }] })) as NetworkPolicy).spec.types,
    ['Egress'],
  );
  assert.deepEqual(
    (valid(resource('NetworkPolicy', 'p', { types: ['Egress', 'Ingress'] })) as NetworkPolicy).spec.types,
    ['Egress', 'Ingress'],
  );
  assert.equal(
    valid(withField(np, 'metadata.name', 'ossg.default.allow.all.things')).metadata.name,
    'ossg.default.allow.all.things',
  );
  // Calico refuses to create knp.default.* policies: they are the Kubernetes NetworkPolicy conversions.
  assertInvalid(
    withField(np, 'metadata.name', 'knp.default.allow.all.things'),
    'metadata.name',
    "names starting with 'knp.default.' belong to policies converted",
  );
  assert.equal(valid(withField(np, 'metadata.name', 'default.allow')).metadata.name, 'default.allow');
  assert.equal((valid(withField(np, `${rule0}.protocol`, 'tcp')) as NetworkPolicy).spec.ingress?.[0]?.protocol, 'TCP');
  assert.equal((valid(withField(np, `${rule0}.protocol`, 6)) as NetworkPolicy).spec.ingress?.[0]?.protocol, 6);
});

test('rules: action, version, protocol and ICMP', () => {
  assertInvalid(withField(np, `${rule0}.action`, undefined), `${rule0}.action`, 'is required');
  assertInvalid(
    withField(np, `${rule0}.action`, 'allow'),
    `${rule0}.action`,
    "'allow' is not one of Allow, Deny, Log, Pass (did you mean 'Allow'?)",
  );
  assertInvalid(withField(np, `${rule0}.ipVersion`, 5), `${rule0}.ipVersion`, 'expected 4 or 6, got 5');
  assertInvalid(withField(np, `${rule0}.protocol`, 'HTTP'), `${rule0}.protocol`, "'HTTP' is not a protocol");
  assertInvalid(
    withField(np, `${rule0}.icmp`, { type: 8 }),
    `${rule0}.icmp`,
    'ICMP fields require protocol ICMP or ICMPv6',
  );
  assertInvalid(
    withField(np, 'spec.ingress[1].icmp', { code: 0 }),
    'spec.ingress[1].icmp.code',
    'an ICMP code needs an ICMP type',
  );
  assertInvalid(
    withField(np, 'spec.ingress[1].icmp.type', 255),
    'spec.ingress[1].icmp.type',
    '255 is out of range for an ICMP type (0-254)',
  );
  assertInvalid(
    withField(np, 'spec.ingress[1].icmp.code', 256),
    'spec.ingress[1].icmp.code',
    '256 is out of range for an ICMP code (0-255)',
  );
  assertInvalid(
    withField(np, 'spec.ingress[1].ipVersion', 6),
    'spec.ingress[1].ipVersion',
    'protocol ICMP requires ipVersion 4',
  );
  assertInvalid(
    withFields(np, { 'spec.ingress[1].protocol': 'ICMPv6', 'spec.ingress[1].ipVersion': 4 }),
    'spec.ingress[1].ipVersion',
    'protocol ICMPv6 requires ipVersion 6',
  );
  assertInvalid(
    withField(np, 'spec.ingress[2].ipVersion', 4),
    'spec.ingress[2].ipVersion',
    'notProtocol ICMPv6 requires ipVersion 6',
  );
  assertInvalid(
    withField(np, 'spec.ingress[2].notProtocol', undefined),
    'spec.ingress[2].notICMP',
    'ICMP fields require notProtocol ICMP or ICMPv6',
  );
});

test('rules: ports', () => {
  const dp = `${rule0}.destination.ports`;
  assertInvalid(
    withField(np, `${rule0}.protocol`, undefined),
    `${dp}[0]`,
    'rules with a numeric port or port range must set protocol to TCP, UDP or SCTP',
  );
  assert.equal(
    valid(withFields(np, { 'spec.ingress[4].destination.ports': ['http', 'metrics'] })).kind,
    'NetworkPolicy',
    'named ports need no protocol',
  );
  assertInvalid(
    withField(np, `${rule0}.protocol`, 'ICMP'),
    dp,
    'protocol ICMP has no ports: ports need protocol TCP, UDP or SCTP',
  );
  assertInvalid(
    withFields(np, { 'spec.ingress[1].source.notPorts': ['http'] }),
    'spec.ingress[1].source.notPorts',
    'protocol ICMP has no ports',
  );
  assertInvalid(withField(np, `${dp}[0]`, 0), `${dp}[0]`, '0 is out of range for a port (1-65535)');
  assertInvalid(withField(np, `${dp}[0]`, 65536), `${dp}[0]`, '65536 is out of range for a port (1-65535)');
  assertInvalid(withField(np, `${dp}[0]`, '99999'), `${dp}[0]`, '99999 is out of range for a port (1-65535)');
  assertInvalid(
    withField(np, `${dp}[0]`, '90:80'),
    `${dp}[0]`,
    "port range '90:80': the first port is greater than the last",
  );
  assertInvalid(withField(np, `${dp}[0]`, '0:80'), `${dp}[0]`, "port range '0:80' must be within 1-65535");
  assertInvalid(
    withField(np, `${dp}[0]`, 'my port'),
    `${dp}[0]`,
    "'my port' is not a port, a range 'lo:hi' or a port name",
  );
  assertInvalid(
    withField(np, `${dp}[0]`, true),
    `${dp}[0]`,
    'expected a port, range or port name, got a boolean (true)',
  );
  assertInvalid(withField(np, dp, new Array(51).fill(80)), dp, 'has 51 items, more than the limit of 50');
});

test('rules: nets, selectors and service matches', () => {
  const sn = `${rule0}.source.nets`;
  assertInvalid(
    withField(np, `${sn}[0]`, '10.244.0.1/16'),
    `${sn}[0]`,
    '10.244.0.1/16 is not strictly masked: host bits are set (the network is 10.244.0.0/16)',
  );
  assertInvalid(withField(np, `${sn}[0]`, '10.244/16'), `${sn}[0]`, 'is not a valid CIDR');
  assertInvalid(
    withField(np, `${rule0}.ipVersion`, 6),
    `${sn}[0]`,
    '10.244.0.0/16 is IPv4 but the rule has ipVersion 6',
  );
  assertInvalid(
    withField(np, `${rule0}.destination.nets`, ['fd00::/8']),
    `${rule0}.destination.nets[0]`,
    'fd00::/8 is IPv6: a rule cannot mix IPv4 and IPv6 CIDRs',
  );
  assertInvalid(
    withField(np, 'spec.ingress[2].source.notNets', ['::/0']),
    'spec.ingress[2].source.notNets[0]',
    '::/0 in notNets matches everything, so the rule would match no traffic',
  );
  assertInvalid(
    withField(np, 'spec.ingress[2].source.notNets', ['0.0.0.0/0']),
    'spec.ingress[2].source.notNets[0]',
    'matches everything',
  );
  assertInvalid(
    withField(np, `${rule0}.source.selector`, "app == 'x' &&"),
    `${rule0}.source.selector`,
    'invalid selector at position 13',
  );
  assertInvalid(
    withField(np, `${rule0}.source.selector`, 'global()'),
    `${rule0}.source.selector`,
    'global() can only be used in an EntityRule namespaceSelector',
  );
  assertInvalid(
    withField(np, `${rule0}.source.notSelector`, '!global() || has(a)'),
    `${rule0}.source.notSelector`,
    'global() can only be used',
  );
  assertInvalid(
    withField(np, `${rule0}.source.namespaceSelector`, 'global() && has(a)'),
    `${rule0}.source.namespaceSelector`,
    'global() cannot be combined with other selectors',
  );
  assert.equal(
    valid(withField(np, `${rule0}.source.namespaceSelector`, "x == 'global()'")).kind,
    'NetworkPolicy',
    'global() inside a string is text',
  );
  assertInvalid(
    withField(np, 'spec.ingress[3].source.serviceAccounts.selector', 'a ='),
    'spec.ingress[3].source.serviceAccounts.selector',
    'invalid selector',
  );
  assertInvalid(
    withField(np, 'spec.ingress[3].source.serviceAccounts.names', [5]),
    'spec.ingress[3].source.serviceAccounts.names[0]',
    'expected a string',
  );
  const svc = 'spec.egress[0].destination';
  assertInvalid(
    withField(np, `${svc}.services.name`, undefined),
    `${svc}.services.name`,
    'is required: services must name a service',
  );
  assertInvalid(
    withField(np, `${svc}.selector`, 'has(a)'),
    `${svc}.selector`,
    'cannot be combined with destination.services',
  );
  assertInvalid(
    withField(np, `${svc}.nets`, ['10.0.0.0/8']),
    `${svc}.nets`,
    'cannot be combined with destination.services',
  );
  assertInvalid(withField(np, `${svc}.namespaceSelector`, 'has(a)'), `${svc}.namespaceSelector`, 'cannot be combined');
  assertInvalid(
    withField(np, `${svc}.serviceAccounts`, { names: ['a'] }),
    `${svc}.serviceAccounts`,
    'cannot be combined',
  );
  assertInvalid(
    withFields(np, { 'spec.egress[0].protocol': 'TCP', [`${svc}.ports`]: [53] }),
    `${svc}.ports`,
    'ports and notPorts cannot be combined with destination.services',
  );
});

test('rules: HTTP match and annotations', () => {
  const http = `${rule0}.http`;
  assertInvalid(withField(np, `${rule0}.action`, 'Deny'), http, 'HTTP match is only valid on Allow rules');
  assertInvalid(
    withField(np, `${rule0}.protocol`, 'UDP'),
    `${rule0}.protocol`,
    'rules with an HTTP match must have protocol TCP or none',
  );
  assertInvalid(
    withField(np, `${http}.paths[0]`, { exact: '/a', prefix: '/b' }),
    `${http}.paths[0]`,
    "set either 'exact' or 'prefix', not both",
  );
  assertInvalid(withField(np, `${http}.paths[0]`, {}), `${http}.paths[0]`, "one of 'exact' or 'prefix' must be set");
  assertInvalid(
    withField(np, `${http}.paths[0]`, { prefix: 'api' }),
    `${http}.paths[0]`,
    "'api' must start with '/' and not contain '?', '#' or spaces",
  );
  assertInvalid(withField(np, `${http}.paths[0]`, { exact: '/a?b' }), `${http}.paths[0]`, 'must start with');
  assertInvalid(withField(np, `${http}.methods`, ['GET', 'GET']), `${http}.methods[1]`, 'duplicates');
  assertInvalid(
    withField(np, `${rule0}.metadata.annotations`, { 'bad key': 'x' }),
    `${rule0}.metadata.annotations["bad key"]`,
    "key 'bad key'",
  );
});

test('NetworkPolicy: policy-level rules', () => {
  assertInvalid(withField(np, 'metadata.name', 'a.b.c'), 'metadata.name', "'a.b.c' is not a valid policy name");
  assertInvalid(withField(np, 'metadata.name', 'Allow'), 'metadata.name', 'is not a valid policy name');
  assertInvalid(
    withField(np, 'metadata.name', 'a'.repeat(254)),
    'metadata.name',
    'is longer than 253 characters (254)',
  );
  assertInvalid(
    withField(np, 'spec.types', ['Ingress', 'Ingress']),
    'spec.types[1]',
    "'Ingress' is listed more than once",
  );
  assertInvalid(withField(np, 'spec.types', []), 'spec.types', 'must not be empty');
  assertInvalid(withField(np, 'spec.types', ['Forward']), 'spec.types[0]', "'Forward' is not one of Ingress, Egress");
  assertInvalid(
    withField(np, 'spec.egress[0].source.services', { name: 'x' }),
    'spec.egress[0].source.services',
    'not allowed in an egress rule source',
  );
  assertInvalid(
    withField(np, 'spec.egress[0].http', { methods: ['GET'] }),
    'spec.egress[0].http',
    'HTTP match is not allowed in egress rules',
  );
  assertInvalid(
    withField(np, 'spec.ingress[3].destination.services', { name: 'x' }),
    'spec.ingress[3].destination.services',
    'not allowed in an ingress rule destination',
  );
  assertInvalid(withField(np, 'spec.tier', 'my.tier'), 'spec.tier', "'my.tier' is not a valid DNS-1123 label");
  assertInvalid(withField(np, 'spec.order', 'first'), 'spec.order', "expected a number, got a string ('first')");
  assertInvalid(
    withField(np, 'spec.selector', 'global()'),
    'spec.selector',
    'global() can only be used in an EntityRule namespaceSelector',
  );
  assertInvalid(
    withField(np, 'spec.serviceAccountSelector', 'global()'),
    'spec.serviceAccountSelector',
    'global() can only be used',
  );
  assertInvalid(
    withField(np, 'spec.performanceHints', ['Fast']),
    'spec.performanceHints[0]',
    "'Fast' is not one of AssumeNeededOnEveryNode",
  );
  assertInvalid(
    withField(np, 'spec.ingress', new Array(1025).fill({ action: 'Allow' })),
    'spec.ingress',
    'has 1025 items, more than the limit of 1024',
  );
  assertInvalid(withField(np, 'spec.doNotTrack', true), 'spec.doNotTrack', "unknown field 'doNotTrack'");
});

test('GlobalNetworkPolicy: valid, and its rules', () => {
  const g = valid(gnp) as GlobalNetworkPolicy;
  assert.equal(g.spec.preDNAT, true);
  assert.equal(g.spec.doNotTrack, false);
  assert.deepEqual(g.spec.types, ['Ingress']);
  const plain = valid(resource('GlobalNetworkPolicy', 'deny-all', { selector: 'all()' })) as GlobalNetworkPolicy;
  assert.equal(plain.spec.applyOnForward, false);
  assertInvalid(withField(gnp, 'metadata.name', 'a.b.c'), 'metadata.name', "'a.b.c' is not a valid policy name");
  assertInvalid(withField(gnp, 'metadata.name', 'knp.default.x'), 'metadata.name', 'is not a valid policy name');
  assertInvalid(withField(gnp, 'spec.doNotTrack', true), 'spec.preDNAT', 'preDNAT and doNotTrack cannot both be true');
  assertInvalid(
    withField(gnp, 'spec.egress', [{ action: 'Allow' }]),
    'spec.egress',
    'a preDNAT policy cannot have egress rules',
  );
  assertInvalid(
    withField(gnp, 'spec.types', ['Ingress', 'Egress']),
    'spec.types',
    "a preDNAT policy cannot have the 'Egress' type",
  );
  assertInvalid(
    withField(gnp, 'spec.applyOnForward', false),
    'spec.applyOnForward',
    'must be true when preDNAT is true',
  );
  assertInvalid(
    withFields(gnp, { 'spec.preDNAT': false, 'spec.doNotTrack': true, 'spec.applyOnForward': false }),
    'spec.applyOnForward',
    'must be true when doNotTrack is true',
  );
  assertInvalid(
    withField(gnp, 'spec.namespaceSelector', 'global()'),
    'spec.namespaceSelector',
    'global() can only be used in an EntityRule namespaceSelector',
  );
  assertInvalid(
    withField(gnp, 'spec.ingress[0].source.services.namespace', undefined),
    'spec.ingress[0].source.services.namespace',
    'is required in a GlobalNetworkPolicy',
  );
  assertInvalid(
    resource('GlobalNetworkPolicy', 'g', { egress: [{ action: 'Allow', destination: { services: { name: 'dns' } } }] }),
    'spec.egress[0].destination.services.namespace',
    'is required in a GlobalNetworkPolicy',
  );
  assertInvalid(
    withField(gnp, 'metadata.namespace', 'default'),
    'metadata.namespace',
    'GlobalNetworkPolicy is not namespaced',
  );
});

test('Profile: valid, and its rules', () => {
  const p = valid(
    resource('Profile', 'kns.default', {
      labelsToApply: { 'projectcalico.org/name': 'default' },
      ingress: [{ action: 'Allow' }],
    }),
  ) as Profile;
  assert.equal(p.spec.ingress?.[0]?.action, 'Allow');
  assertInvalid(resource('Profile', 'p', { labelsToApply: { 'a b': 'c' } }), 'spec.labelsToApply["a b"]', "key 'a b'");
  assertInvalid(resource('Profile', 'p', { labelsToApply: { a: 'c d' } }), 'spec.labelsToApply["a"]', "value 'c d'");
  assertInvalid(
    resource('Profile', 'p', { egress: [{ action: 'Reject' }] }),
    'spec.egress[0].action',
    "'Reject' is not one of Allow, Deny, Log, Pass",
  );
  assertInvalid(resource('Profile', 'p', { selector: 'all()' }), 'spec.selector', "unknown field 'selector'");
});

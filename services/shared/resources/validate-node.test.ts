import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostEndpoint, Node, WorkloadEndpoint } from './index.js';
import { assertInvalid, resource, valid, withField, withFields } from './test-support.js';

const node = resource(
  'Node',
  'node-a1',
  {
    bgp: {
      ipv4Address: '10.0.1.11/24',
      ipv6Address: 'fd00:0:1::11/64',
      asNumber: 65101,
      routeReflectorClusterID: '224.0.0.1',
    },
    ipv4VXLANTunnelAddr: '10.244.0.1',
    vxlanTunnelMACAddr: '66:a1:b2:c3:d4:e5',
    addresses: [{ address: '10.0.1.11/24', type: 'CalicoNodeIP' }],
    orchRefs: [{ nodeName: 'node-a1', orchestrator: 'k8s' }],
    wireguard: { interfaceIPv4Address: '10.244.0.2' },
  },
  {
    metadata: { labels: { rack: 'a' } },
    status: { podCIDRs: ['10.244.0.0/24'], wireguardPublicKey: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=' },
  },
);

test('Node: valid, addresses keep host bits, AS numbers normalized', () => {
  const n = valid(node) as Node;
  assert.equal(n.spec.bgp?.ipv4Address, '10.0.1.11/24');
  assert.equal(n.spec.bgp?.ipv6Address, 'fd00:0:1::11/64');
  assert.equal(n.status?.podCIDRs?.[0], '10.244.0.0/24');
  assert.equal((valid(withField(node, 'spec.bgp.asNumber', '1.10')) as Node).spec.bgp?.asNumber, 65546, 'asdot');
  assert.equal((valid(withField(node, 'spec.bgp.asNumber', '4200000000')) as Node).spec.bgp?.asNumber, 4200000000);
  assert.equal((valid(withField(node, 'spec.bgp.asNumber', 4294967295)) as Node).spec.bgp?.asNumber, 4294967295);
  assert.equal(
    (valid(withField(node, 'spec.bgp.ipv4Address', '10.0.1.11')) as Node).spec.bgp?.ipv4Address,
    '10.0.1.11',
  );
  assert.equal(
    (valid(withField(node, 'spec.vxlanTunnelMACAddr', '66-A1-B2-C3-D4-E5')) as Node).spec.vxlanTunnelMACAddr,
    '66:a1:b2:c3:d4:e5',
  );
  assert.equal(valid(resource('Node', 'bare', undefined)).kind, 'Node', 'spec may be absent');
});

test('Node: every rule', () => {
  assertInvalid(
    withField(node, 'spec.bgp.ipv4Address', 'fd00::1/64'),
    'spec.bgp.ipv4Address',
    "'fd00::1/64' is not an IPv4 address",
  );
  assertInvalid(
    withField(node, 'spec.bgp.ipv4Address', '10.0.1.11/33'),
    'spec.bgp.ipv4Address',
    'prefix length must be 0-32',
  );
  assertInvalid(
    withField(node, 'spec.bgp.ipv6Address', '10.0.1.11/24'),
    'spec.bgp.ipv6Address',
    "'10.0.1.11/24' is not an IPv6 address",
  );
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', 0),
    'spec.bgp.asNumber',
    '0 is out of range for an AS number (1-4294967295)',
  );
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', 4294967296),
    'spec.bgp.asNumber',
    '4294967296 is out of range for an AS number (1-4294967295)',
  );
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', '4294967296'),
    'spec.bgp.asNumber',
    'is out of range for an AS number',
  );
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', '0.0'),
    'spec.bgp.asNumber',
    '0.0 is out of range for an AS number',
  );
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', '1.65536'),
    'spec.bgp.asNumber',
    "'1.65536': each half of an asdot AS number must be 0-65535",
  );
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', 1.1),
    'spec.bgp.asNumber',
    "write asdot notation as a quoted string (e.g. '1.10')",
  );
  assertInvalid(withField(node, 'spec.bgp.asNumber', 'AS65000'), 'spec.bgp.asNumber', "'AS65000' is not an AS number");
  assertInvalid(
    withField(node, 'spec.bgp.asNumber', true),
    'spec.bgp.asNumber',
    'expected an AS number, got a boolean (true)',
  );
  assertInvalid(
    withField(node, 'spec.bgp.routeReflectorClusterID', 'fd00::1'),
    'spec.bgp.routeReflectorClusterID',
    "'fd00::1' is not an IPv4 address",
  );
  assertInvalid(
    withField(node, 'spec.bgp.ipv4IPIPTunnelAddr', '10.0.0.0/24'),
    'spec.bgp.ipv4IPIPTunnelAddr',
    "'10.0.0.0/24' is not a valid IP address",
  );
  assertInvalid(withField(node, 'spec.bgp', {}), 'spec.bgp', 'must not be empty: set ipv4Address or ipv6Address');
  assertInvalid(
    withField(node, 'spec.ipv4VXLANTunnelAddr', '10.0.0.256'),
    'spec.ipv4VXLANTunnelAddr',
    "'10.0.0.256' is not a valid IP address",
  );
  assertInvalid(
    withField(node, 'spec.ipv6VXLANTunnelAddr', '10.0.0.1'),
    'spec.ipv6VXLANTunnelAddr',
    "'10.0.0.1' is not an IPv6 address",
  );
  assertInvalid(
    withField(node, 'spec.vxlanTunnelMACAddr', '66:a1:b2:c3:d4'),
    'spec.vxlanTunnelMACAddr',
    "'66:a1:b2:c3:d4' is not a MAC address",
  );
  assertInvalid(
    withField(node, 'spec.vxlanTunnelMACAddrV6', '66:a1-b2:c3:d4:e5'),
    'spec.vxlanTunnelMACAddrV6',
    'is not a MAC address',
  );
  assertInvalid(
    withField(node, 'spec.orchRefs[0].orchestrator', undefined),
    'spec.orchRefs[0].orchestrator',
    'is required',
  );
  assertInvalid(withField(node, 'spec.addresses[0].address', undefined), 'spec.addresses[0].address', 'is required');
  assertInvalid(
    withField(node, 'spec.addresses[0].type', 'Public'),
    'spec.addresses[0].type',
    "'Public' is not one of InternalIP, ExternalIP, CalicoNodeIP",
  );
  assertInvalid(
    withField(node, 'spec.wireguard.interfaceIPv4Address', 'x'),
    'spec.wireguard.interfaceIPv4Address',
    "'x' is not a valid IP address",
  );
  assertInvalid(
    withField(node, 'spec.interfaces', [{ name: 'an-interface-name-too-long' }]),
    'spec.interfaces[0].name',
    'is not a valid interface name',
  );
  assertInvalid(
    withField(node, 'status.wireguardPublicKey', 'short'),
    'status.wireguardPublicKey',
    "'short' is not a WireGuard public key",
  );
  assertInvalid(withField(node, 'status.podCIDRs', ['10.244.0.1/24']), 'status.podCIDRs[0]', 'is not strictly masked');
  assertInvalid(withField(node, 'status.extra', 1), 'status.extra', "unknown field 'extra'");
});

const hep = resource('HostEndpoint', 'node-a1-eth0', {
  node: 'node-a1',
  interfaceName: 'eth0',
  expectedIPs: ['10.0.1.11', 'FD00:0:1::11'],
  profiles: ['projectcalico-default-allow'],
  ports: [{ name: 'bgp', protocol: 'TCP', port: 179 }],
});

test('HostEndpoint: valid, protocols and addresses normalized', () => {
  const h = valid(hep) as HostEndpoint;
  assert.deepEqual(h.spec.expectedIPs, ['10.0.1.11', 'fd00:0:1::11']);
  assert.equal(
    (valid(withField(hep, 'spec.ports[0].protocol', 'tcp')) as HostEndpoint).spec.ports?.[0]?.protocol,
    'TCP',
  );
  assert.equal((valid(withField(hep, 'spec.ports[0].protocol', '17')) as HostEndpoint).spec.ports?.[0]?.protocol, 17);
  assert.equal(valid(withField(hep, 'spec.interfaceName', '*')).kind, 'HostEndpoint');
  assert.equal(valid(withField(hep, 'spec.interfaceName', undefined)).kind, 'HostEndpoint', 'expectedIPs alone');
});

test('HostEndpoint: every rule', () => {
  assertInvalid(withField(hep, 'spec.node', undefined), 'spec.node', 'is required: the node the endpoint belongs to');
  assertInvalid(
    withFields(hep, { 'spec.interfaceName': undefined, 'spec.expectedIPs': [] }),
    'spec.interfaceName',
    'at least one of interfaceName or expectedIPs must be set',
  );
  assertInvalid(
    withField(hep, 'spec.interfaceName', 'eth0.1234567890a'),
    'spec.interfaceName',
    "'eth0.1234567890a' is not a valid interface name (1-15 letters",
  );
  assertInvalid(withField(hep, 'spec.interfaceName', 'eth 0'), 'spec.interfaceName', 'is not a valid interface name');
  assertInvalid(
    withField(hep, 'spec.expectedIPs', ['10.0.1.11/32']),
    'spec.expectedIPs[0]',
    'is not a valid IP address',
  );
  assertInvalid(
    withField(hep, 'spec.expectedIPs', ['10.0.1.11', '10.0.1.11']),
    'spec.expectedIPs[1]',
    'duplicates spec.expectedIPs[0]',
  );
  assertInvalid(withField(hep, 'spec.profiles', ['Default']), 'spec.profiles[0]', "'Default' is not a valid name");
  assertInvalid(
    withField(hep, 'spec.ports[0].name', 'BGP'),
    'spec.ports[0].name',
    "port name 'BGP' may contain only lower case letters, digits and '-'",
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].name', 'a-very-long-port-name'),
    'spec.ports[0].name',
    'is longer than 15 characters',
  );
  assertInvalid(withField(hep, 'spec.ports[0].name', '179'), 'spec.ports[0].name', 'must contain at least one letter');
  assertInvalid(
    withField(hep, 'spec.ports[0].name', 'b--gp'),
    'spec.ports[0].name',
    "must not start or end with '-' or contain '--'",
  );
  assertInvalid(withField(hep, 'spec.ports[0].name', undefined), 'spec.ports[0].name', 'is required');
  assertInvalid(
    withField(hep, 'spec.ports[0].port', 0),
    'spec.ports[0].port',
    '0 is out of range for a port (1-65535)',
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].port', 65536),
    'spec.ports[0].port',
    '65536 is out of range for a port (1-65535)',
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].protocol', 'HTTP'),
    'spec.ports[0].protocol',
    "'HTTP' is not a protocol (use TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255)",
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].protocol', 0),
    'spec.ports[0].protocol',
    '0 is out of range for a protocol number (1-255)',
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].protocol', 256),
    'spec.ports[0].protocol',
    '256 is out of range for a protocol number (1-255)',
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].protocol', true),
    'spec.ports[0].protocol',
    'expected a protocol name or number, got a boolean (true)',
  );
  assertInvalid(
    withField(hep, 'spec.ports[0].protocol', 'ICMP'),
    'spec.ports[0].protocol',
    'ICMP has no ports (use TCP, UDP or SCTP)',
  );
});

const wep = resource(
  'WorkloadEndpoint',
  'node--a1-k8s-frontend--7d4b9c-eth0',
  {
    orchestrator: 'k8s',
    node: 'node-a1',
    pod: 'frontend-7d4b9c',
    endpoint: 'eth0',
    containerID: '3f1a2b4c5d6e',
    serviceAccountName: 'frontend',
    interfaceName: 'cali1a2b3c4d5e6',
    mac: 'EE:EE:EE:EE:EE:EE',
    ipNetworks: ['10.244.0.5', 'fd00:10:244::5/128'],
    ipv4Gateway: '169.254.1.1',
    ipNATs: [{ internalIP: '10.244.0.5', externalIP: '192.168.200.5' }],
    profiles: ['kns.default'],
    ports: [{ name: 'http', protocol: 'TCP', port: 8080, hostPort: 80, hostIP: '0.0.0.0' }],
    allowSpoofedSourcePrefixes: ['10.99.0.0/16'],
    qosControls: { ingressBandwidth: 1000000 },
  },
  { metadata: { namespace: 'default', labels: { app: 'frontend' } } },
);

test('WorkloadEndpoint: valid, networks normalized to /32 and /128', () => {
  const w = valid(wep) as WorkloadEndpoint;
  assert.deepEqual(w.spec.ipNetworks, ['10.244.0.5/32', 'fd00:10:244::5/128']);
  assert.equal(w.spec.mac, 'ee:ee:ee:ee:ee:ee');
  assert.equal(w.metadata.namespace, 'default');
  assert.equal(
    valid(withFields(wep, { 'spec.ports[0].name': undefined })).kind,
    'WorkloadEndpoint',
    'a hostPort mapping needs no name',
  );
});

test('WorkloadEndpoint: every rule', () => {
  assertInvalid(withField(wep, 'spec.node', undefined), 'spec.node', 'is required: the node the workload runs on');
  assertInvalid(
    withField(wep, 'spec.interfaceName', undefined),
    'spec.interfaceName',
    "is required: the workload's host-side interface",
  );
  assertInvalid(
    withField(wep, 'spec.ipNetworks', ['10.244.0.0/24']),
    'spec.ipNetworks[0]',
    '10.244.0.0/24 contains more than one address: workload networks must be /32 (IPv4) or /128 (IPv6)',
  );
  assertInvalid(
    withField(wep, 'spec.ipNetworks', ['10.244.0.5/32', '10.244.0.5']),
    'spec.ipNetworks[1]',
    'duplicates spec.ipNetworks[0]',
  );
  assertInvalid(
    withField(wep, 'spec.ipNATs[0].internalIP', '10.244.0.6'),
    'spec.ipNATs[0].internalIP',
    "10.244.0.6 is not one of the endpoint's ipNetworks",
  );
  assertInvalid(
    withField(wep, 'spec.ipNATs[0].externalIP', 'fd00::5'),
    'spec.ipNATs[0].externalIP',
    'fd00::5 is not the same IP version as internalIP 10.244.0.5',
  );
  assertInvalid(withField(wep, 'spec.ipNATs[0].externalIP', undefined), 'spec.ipNATs[0].externalIP', 'is required');
  assertInvalid(withField(wep, 'spec.containerID', 'abc_def'), 'spec.containerID', "'abc_def' is not a container ID");
  assertInvalid(withField(wep, 'spec.mac', 'ee:ee'), 'spec.mac', "'ee:ee' is not a MAC address");
  assertInvalid(withField(wep, 'spec.ipv4Gateway', 'fd00::1'), 'spec.ipv4Gateway', "'fd00::1' is not an IPv4 address");
  assertInvalid(
    withField(wep, 'spec.ipv6Gateway', '10.0.0.1'),
    'spec.ipv6Gateway',
    "'10.0.0.1' is not an IPv6 address",
  );
  assertInvalid(
    withFields(wep, { 'spec.ports[0].name': undefined, 'spec.ports[0].hostPort': undefined }),
    'spec.ports[0].name',
    'is required when no hostPort is set',
  );
  assertInvalid(withField(wep, 'spec.ports[0].protocol', 'ICMPv6'), 'spec.ports[0].protocol', 'ICMPv6 has no ports');
  assertInvalid(
    withField(wep, 'spec.ports[0].hostIP', 'localhost'),
    'spec.ports[0].hostIP',
    "'localhost' is not a valid IP address",
  );
  assertInvalid(
    withField(wep, 'spec.ports[0].hostPort', 70000),
    'spec.ports[0].hostPort',
    '70000 is out of range for a port (0-65535)',
  );
  assertInvalid(
    withField(wep, 'spec.allowSpoofedSourcePrefixes', ['10.99.0.1/16']),
    'spec.allowSpoofedSourcePrefixes[0]',
    'is not strictly masked',
  );
  assertInvalid(withField(wep, 'spec.profiles', ['kns default']), 'spec.profiles[0]', 'is not a valid name');
  assertInvalid(withField(wep, 'spec.pod', 'Frontend'), 'spec.pod', "'Frontend' is not a valid name");
  assertInvalid(
    withField(wep, 'spec.qosControls.ingressBandwith', 1),
    'spec.qosControls.ingressBandwith',
    "did you mean 'ingressBandwidth'?",
  );
  assertInvalid(
    withField(wep, 'metadata.namespace', 'Default'),
    'metadata.namespace',
    "'Default' is not a valid DNS-1123 label",
  );
});

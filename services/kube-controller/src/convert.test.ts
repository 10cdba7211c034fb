// Calico's conversion rules for Kubernetes NetworkPolicy, Namespace, ServiceAccount and Node,
// checked on real v1 JSON; the converted documents must also pass the datastore's validation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateResource } from '../../shared/resources/index.js';
import { namespaceProfile, networkPolicy, nodeFields, selectorToCalico, serviceAccountProfile } from './convert.js';

const np = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web', namespace: 'shop', resourceVersion: '7' },
  spec: {
    podSelector: {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
    },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        from: [
          { podSelector: { matchLabels: { role: 'fe' } } },
          { namespaceSelector: {} },
          { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
        ],
        ports: [
          { port: 80 },
          { port: 81 },
          { port: 82 },
          { protocol: 'TCP', port: 'http' },
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 9000, endPort: 9010 },
        ],
      },
      {},
    ],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
            podSelector: { matchExpressions: [{ key: 'db', operator: 'Exists' }] },
          },
        ],
      },
    ],
  },
};

test('NetworkPolicy → knp.default.<name>: order 1000, one rule per protocol per peer, ports merged into ranges', () => {
  const doc = networkPolicy(np);
  assert.equal(doc.metadata.name, 'knp.default.web');
  assert.equal(doc.metadata.namespace, 'shop');
  const pod = "projectcalico.org/orchestrator == 'k8s'";
  assert.deepEqual(doc.spec, {
    order: 1000,
    selector: `${pod} && app == 'web' && tier in { 'a', 'b' }`,
    types: ['Ingress', 'Egress'],
    ingress: [
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { selector: `${pod} && role == 'fe'` },
        destination: { ports: ['http', '80:82', '9000:9010'] },
      },
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { selector: pod, namespaceSelector: 'all()' },
        destination: { ports: ['http', '80:82', '9000:9010'] },
      },
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'] },
        destination: { ports: ['http', '80:82', '9000:9010'] },
      },
      {
        action: 'Allow',
        protocol: 'UDP',
        source: { selector: `${pod} && role == 'fe'` },
        destination: { ports: [53] },
      },
      {
        action: 'Allow',
        protocol: 'UDP',
        source: { selector: pod, namespaceSelector: 'all()' },
        destination: { ports: [53] },
      },
      {
        action: 'Allow',
        protocol: 'UDP',
        source: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'] },
        destination: { ports: [53] },
      },
      { action: 'Allow' },
    ],
    egress: [
      { action: 'Allow', destination: { selector: `${pod} && has(db)`, namespaceSelector: "env not in { 'dev' }" } },
    ],
  });
  validateResource(doc, { converted: true });
  assert.throws(() => validateResource(doc), /cannot be created/, 'only a controller may write knp.default.*');
});

test('a policy without policyTypes is ingress-only (egress rules kept, as Calico does); empty podSelector selects every pod', () => {
  const doc = networkPolicy({ metadata: { name: 'deny', namespace: 'x' }, spec: { podSelector: {}, egress: [{}] } });
  assert.deepEqual(doc.spec, {
    order: 1000,
    selector: "projectcalico.org/orchestrator == 'k8s'",
    types: ['Ingress'],
    egress: [{ action: 'Allow' }],
  });
  assert.equal(
    selectorToCalico({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] }, 'namespace'),
    '! has(k)',
  );
  assert.throws(() => selectorToCalico({ matchExpressions: [{ key: 'k', operator: 'Gt' }] }, 'pod'), /operator 'Gt'/);
});

test('Namespace → kns.<name> with pcns. labels; ServiceAccount → ksa.<ns>.<name> with pcsa. labels', () => {
  const p = namespaceProfile({
    metadata: { name: 'shop', labels: { team: 'a', 'kubernetes.io/metadata.name': 'shop' } },
  });
  assert.deepEqual(p.metadata, { name: 'kns.shop' });
  assert.deepEqual(p.spec, {
    ingress: [{ action: 'Allow' }],
    egress: [{ action: 'Allow' }],
    labelsToApply: {
      'pcns.team': 'a',
      'pcns.kubernetes.io/metadata.name': 'shop',
      'pcns.projectcalico.org/name': 'shop',
    },
  });
  validateResource(p);
  const s = serviceAccountProfile({ metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } } });
  assert.deepEqual(s, {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'ksa.shop.web' },
    spec: { labelsToApply: { 'pcsa.app': 'web', 'pcsa.projectcalico.org/name': 'web' } },
  });
  validateResource(s);
});

test("Node: Calico's annotations win over InternalIP; asdot AS numbers", () => {
  const status = {
    addresses: [
      { type: 'InternalIP', address: '10.0.0.1' },
      { type: 'Hostname', address: 'n1' },
      { type: 'InternalIP', address: 'fd00::1' },
    ],
  };
  assert.deepEqual(nodeFields({ metadata: { name: 'n1' }, status }), {
    bgp: { ipv4Address: '10.0.0.1', ipv6Address: 'fd00::1' },
    addresses: [
      { address: '10.0.0.1', type: 'InternalIP' },
      { address: 'fd00::1', type: 'InternalIP' },
    ],
  });
  const ann = { 'projectcalico.org/IPv4Address': '192.168.1.5/24', 'projectcalico.org/ASNumber': '1.10' };
  assert.deepEqual(nodeFields({ metadata: { name: 'n1', annotations: ann }, status }).bgp, {
    ipv4Address: '192.168.1.5/24',
    ipv6Address: 'fd00::1',
    asNumber: 65546,
  });
});

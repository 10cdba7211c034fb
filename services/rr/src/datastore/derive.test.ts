import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterModel, type ResourceChange } from './model.js';
import { deriveConfig } from './derive.js';
import type { StoredKind } from '../../../shared/nats/index.js';

function doc(
  kind: StoredKind,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): ResourceChange {
  return {
    kind,
    name,
    value: Buffer.from(
      JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind,
        metadata: { name, ...(labels ? { labels } : {}) },
        spec,
      }),
    ),
  };
}

function node(
  name: string,
  v4: string,
  extra: Record<string, unknown> = {},
  labels?: Record<string, string>,
  v6?: string,
): ResourceChange {
  return doc(
    'Node',
    name,
    { bgp: { ipv4Address: `${v4}/24`, ...(v6 ? { ipv6Address: `${v6}/64` } : {}), ...extra } },
    labels,
  );
}

function affinity(nodeName: string, cidr: string, state = 'confirmed'): ResourceChange {
  return doc('BlockAffinity', `${nodeName}-${cidr.replace(/[./:]/g, '-')}`, {
    state,
    node: nodeName,
    cidr,
    deleted: false,
  });
}

const pool = doc('IPPool', 'default-v4', { cidr: '10.244.0.0/16' });
const pool6 = doc('IPPool', 'default-v6', { cidr: 'fd00:244::/48' });
const rrNode = node(
  'rr-0',
  '10.0.0.250',
  { routeReflectorClusterID: '224.0.0.1' },
  { 'route-reflector': 'true' },
  'fd00::250',
);

function model(...changes: ResourceChange[]): ClusterModel {
  const m = new ClusterModel();
  assert.deepEqual(m.apply(changes), []);
  return m;
}

describe('datastore mode: deriving the reflector from Calico resources', () => {
  it('needs its own Node with an IPv4 BGP address', () => {
    assert.deepEqual(deriveConfig(model(), 'rr-0'), { ok: false, reason: 'Node rr-0 is not in the datastore' });
    const r = deriveConfig(model(doc('Node', 'rr-0', {})), 'rr-0');
    assert.equal(r.ok, false);
  });

  it('identity: router id, cluster id, AS from Node then BGPConfiguration, listen port', () => {
    const m = model(rrNode, doc('BGPConfiguration', 'default', { asNumber: 65010, listenPort: 1790 }));
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    const s = r.config.settings;
    assert.deepEqual(
      [s.asNumber, s.routerId, s.clusterId, s.listen],
      [65010, '10.0.0.250', '224.0.0.1', { address: '::', port: 1790 }],
    );
    const own = deriveConfig(
      model(node('rr-0', '10.0.0.250', { asNumber: 65001, routeReflectorClusterID: '1.1.1.1' })),
      'rr-0',
    );
    assert.ok(own.ok);
    assert.equal(own.config.settings.asNumber, 65001);
    assert.deepEqual(own.config.settings.listen, { address: '0.0.0.0', port: 179 });
  });

  it("identity: the node's own BGPConfiguration (node.<name>) sets its listen port and bind mode over default", () => {
    const perNode = doc('BGPConfiguration', 'node.rr-0', { listenPort: 11179, bindMode: 'NodeIP' });
    const m = model(
      rrNode,
      doc('BGPConfiguration', 'default', { asNumber: 65010, listenPort: 1790 }),
      perNode,
      doc('BGPConfiguration', 'node.rr-1', { listenPort: 11180 }),
    );
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    assert.deepEqual(
      [r.config.settings.asNumber, r.config.settings.listen],
      [65010, { address: '10.0.0.250', port: 11179 }],
    );
    const other = deriveConfig(
      model(node('rr-1', '10.0.0.251'), doc('BGPConfiguration', 'default', { bindMode: 'NodeIP' }), perNode),
      'rr-1',
    );
    assert.ok(other.ok);
    assert.deepEqual(
      other.config.settings.listen,
      { address: '10.0.0.251', port: 179 },
      "another node's configuration does not apply; bindMode from default",
    );
  });

  it('BGPPeer password (secretKeyRef) becomes a TCP-MD5 key, ttlSecurity GTSM; an unreadable secret keeps the peer down', () => {
    const m = model(
      rrNode,
      doc('BGPPeer', 'tor-a', {
        peerIP: '10.9.0.1',
        asNumber: 65100,
        password: { secretKeyRef: { name: 'bgp-secrets', key: 'tor-a' } },
        ttlSecurity: 1,
      }),
      doc('BGPPeer', 'tor-b', {
        peerIP: '10.9.0.2',
        asNumber: 65100,
        password: { secretKeyRef: { name: 'bgp-secrets', key: 'tor-b' } },
      }),
    );
    const seen: string[] = [];
    const r = deriveConfig(m, 'rr-0', {
      resolveSecret: (ref) => {
        seen.push(`${ref.name}/${ref.key}`);
        return ref.key === 'tor-a' ? { key: Buffer.from('k') } : { error: 'file /x/bgp-secrets/tor-b is missing' };
      },
    });
    assert.ok(r.ok);
    assert.deepEqual(seen, ['bgp-secrets/tor-a', 'bgp-secrets/tor-b']);
    const a = r.config.peers.find((p) => p.address === '10.9.0.1')!;
    const b = r.config.peers.find((p) => p.address === '10.9.0.2')!;
    assert.deepEqual([a.tcpMd5, a.ttlSecurity], [{ key: Buffer.from('k') }, 1]);
    assert.deepEqual(b.tcpMd5, { error: 'file /x/bgp-secrets/tor-b is missing' });
    assert.ok(
      r.config.warnings.some((w) => w.includes('tor-b') && w.includes('stays down')),
      r.config.warnings.join('; '),
    );
    const none = deriveConfig(m, 'rr-0');
    assert.ok(none.ok);
    assert.ok(
      none.config.peers.every((p) => p.tcpMd5 && 'error' in p.tcpMd5),
      'no resolver: no key, never a session without one',
    );
  });

  it('peers that are Nodes are dialled on their own listen port (node.<name>, then default)', () => {
    const m = model(
      rrNode,
      node('rr-1', '10.0.0.251', { routeReflectorClusterID: '224.0.0.1' }, { 'route-reflector': 'true' }),
      node('rr-2', '10.0.0.252', { routeReflectorClusterID: '224.0.0.1' }, { 'route-reflector': 'true' }),
      doc('BGPConfiguration', 'default', { listenPort: 1790 }),
      doc('BGPConfiguration', 'node.rr-1', { listenPort: 11180 }),
      doc('BGPPeer', 'rr-mesh', { nodeSelector: 'has(route-reflector)', peerSelector: 'has(route-reflector)' }),
      doc('BGPPeer', 'by-ip', { peerIP: '10.0.0.1', asNumber: 64512 }),
      node('n1', '10.0.0.1', {}, {}),
    );
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    const port = (a: string) => r.config.peers.find((p) => p.address === a)?.port;
    assert.deepEqual([port('10.0.0.251'), port('10.0.0.252'), port('10.0.0.1')], [11180, 1790, 1790]);
  });

  it('peers: peerIP (a switch: eBGP, external), peerSelector nodes (clients), same cluster id (non-client), passive tie-break', () => {
    const m = model(
      rrNode,
      node('rr-1', '10.0.0.251', { routeReflectorClusterID: '224.0.0.1' }, { 'route-reflector': 'true' }),
      node('n1', '10.0.0.1', {}, { rack: 'a' }),
      node('n2', '10.0.1.1', { asNumber: 65099 }, { rack: 'b' }),
      doc('BGPPeer', 'tor', {
        peerIP: '10.0.0.254:1179',
        asNumber: 65100,
        keepOriginalNextHop: true,
        maxRestartTime: '300s',
      }),
      doc('BGPPeer', 'rr-mesh', { nodeSelector: 'has(route-reflector)', peerSelector: 'has(route-reflector)' }),
      doc('BGPPeer', 'rack-a', { nodeSelector: "route-reflector == 'true'", peerSelector: "rack == 'a'" }),
      doc('BGPPeer', 'elsewhere', { node: 'n1', peerIP: '10.9.9.9', asNumber: 65200 }),
    );
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    const by = new Map(r.config.peers.map((p) => [p.address, p]));
    assert.deepEqual([...by.keys()].sort(), ['10.0.0.1', '10.0.0.251', '10.0.0.254']);
    const tor = by.get('10.0.0.254')!;
    assert.deepEqual(
      [tor.asNumber, tor.port, tor.nextHopMode, tor.restartTime, tor.passive],
      [65100, 1179, 'keep', 300, false],
    );
    assert.equal(by.get('10.0.0.251')!.rrClient, false, 'same cluster id: non-client');
    assert.equal(by.get('10.0.0.1')!.rrClient, true);
    assert.equal(by.get('10.0.0.1')!.passive, true, '10.0.0.250 > 10.0.0.1 lexically: we wait');
    assert.equal(by.get('10.0.0.251')!.passive, false);
    assert.equal(by.get('10.0.0.1')!.localAddress, '10.0.0.250');
    assert.deepEqual([...r.config.external], ['10.0.0.254']);
  });

  it('originates each confirmed host affinity in an exportable pool with the node as next hop (IPv4 and IPv6)', () => {
    const m = model(
      rrNode,
      pool,
      pool6,
      doc('IPPool', 'quiet', { cidr: '10.250.0.0/16', disableBGPExport: true }),
      node('n1', '10.0.0.1', {}, {}, 'fd00::1'),
      node('n2', '10.0.1.1'),
      affinity('n1', '10.244.1.0/26'),
      affinity('n1', 'fd00:244:0:1::/122'),
      affinity('n2', '10.244.2.0/26'),
      affinity('n2', '10.244.3.0/26', 'pending'),
      affinity('n2', '10.250.0.0/26'),
      affinity('n2', '10.99.0.0/26'),
      affinity('gone', '10.244.9.0/26'),
    );
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    const routes = r.config.routes;
    assert.deepEqual([...routes.keys()].sort(), ['10.244.1.0/26', '10.244.2.0/26', 'fd00:244:0:1::/122']);
    assert.equal(routes.get('10.244.1.0/26')!.nextHop, '10.0.0.1');
    assert.equal(routes.get('fd00:244:0:1::/122')!.nextHop, 'fd00::1');
    assert.equal(routes.get('10.244.2.0/26')!.attrs.localPref, 2147483647 - 1024);
  });

  it('communities from prefixAdvertisements (names and literal values), pool aggregates on request', () => {
    const m = model(
      rrNode,
      pool,
      node('n1', '10.0.0.1'),
      affinity('n1', '10.244.1.0/26'),
      doc('BGPConfiguration', 'default', {
        communities: [{ name: 'dc', value: '65000:100' }],
        prefixAdvertisements: [
          { cidr: '10.244.0.0/16', communities: ['dc', '65000:1:2'] },
          { cidr: '10.244.1.0/26', communities: ['65000:7'] },
        ],
      }),
    );
    const r = deriveConfig(m, 'rr-0', { poolAggregates: true });
    assert.ok(r.ok);
    const a = r.config.routes.get('10.244.1.0/26')!.attrs;
    assert.deepEqual(a.communities, [65000 * 65536 + 100, 65000 * 65536 + 7]);
    assert.deepEqual(a.largeCommunities, [{ globalAdmin: 65000, localData1: 1, localData2: 2 }]);
    const agg = r.config.routes.get('10.244.0.0/16')!;
    assert.equal(agg.nextHop, '');
  });

  it("an address borrowed from another node's block gets its /32 via the node using it (IPAM allocations)", () => {
    // 10.244.1.0/26 belongs to n1; ordinal 5 is n1's own pod, ordinal 10 is used by n2, ordinal 11
    // by a node that does not exist (reported, not originated).
    const allocations: (number | null)[] = Array.from({ length: 64 }, () => null);
    [allocations[5], allocations[10], allocations[11]] = [0, 1, 2];
    const attributes = [
      { handle_id: 'k8s-pod-network.own', secondary: { node: 'n1', namespace: 'default', pod: 'own' } },
      { handle_id: 'k8s-pod-network.borrowed', secondary: { node: 'n2', namespace: 'default', pod: 'borrowed' } },
      { handle_id: 'k8s-pod-network.ghost', secondary: { node: 'gone', namespace: 'default', pod: 'ghost' } },
    ];
    const unallocated = allocations.flatMap((a, i) => (a === null ? [i] : []));
    const block = (spec: Record<string, unknown>) =>
      doc('IPAMBlock', '10-244-1-0-26', { cidr: '10.244.1.0/26', affinity: 'host:n1', ...spec });
    const m = model(
      rrNode,
      pool,
      node('n1', '10.0.0.1'),
      node('n2', '10.0.1.1'),
      affinity('n1', '10.244.1.0/26'),
      affinity('n2', '10.244.2.0/26'),
      block({ allocations, unallocated, attributes }),
    );
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    assert.deepEqual([...r.config.routes.keys()].sort(), ['10.244.1.0/26', '10.244.1.10/32', '10.244.2.0/26']);
    assert.equal(r.config.routes.get('10.244.1.10/32')!.nextHop, '10.0.1.1');
    assert.ok(
      r.config.warnings.some((w) => w.includes('10.244.1.11/32') && w.includes('gone')),
      r.config.warnings.join('; '),
    );
    // Released: the /32 goes.
    const released = allocations.map((a, i) => (i === 10 || i === 11 ? null : a));
    assert.deepEqual(
      m.apply([
        block({
          allocations: released,
          unallocated: released.flatMap((a, i) => (a === null ? [i] : [])),
          attributes: attributes.slice(0, 1),
        }),
      ]),
      [],
    );
    const again = deriveConfig(m, 'rr-0');
    assert.ok(again.ok);
    assert.equal(again.config.routes.has('10.244.1.10/32'), false);
  });

  it('invalid documents are skipped and reported, not fatal', () => {
    const m = new ClusterModel();
    const problems = m.apply([
      doc('Node', 'bad', { bgp: { ipv4Address: 'not-an-ip' } }),
      { kind: 'BGPPeer', name: 'junk', value: Buffer.from('{') },
    ]);
    assert.equal(problems.length, 2);
    assert.equal(m.nodes.size, 0);
  });

  it('BGPFilters from the datastore reach the peer that names them, in order; a missing one is a warning', () => {
    const m = model(
      rrNode,
      doc('BGPFilter', 'only-10', {
        importV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In', action: 'Accept' }, { action: 'Reject' }],
      }),
      doc('BGPFilter', 'no-default', { exportV4: [{ cidr: '0.0.0.0/0', matchOperator: 'Equal', action: 'Reject' }] }),
      doc('BGPPeer', 'tor', { peerIP: '10.0.0.1', asNumber: 65001, filters: ['no-default', 'only-10', 'absent'] }),
    );
    const r = deriveConfig(m, 'rr-0');
    assert.ok(r.ok);
    const peer = r.config.peers.find((p) => p.address === '10.0.0.1')!;
    assert.deepEqual(
      peer.filters.map((f) => f.name),
      ['no-default', 'only-10'],
    );
    assert.equal(peer.filters[1]!.importV4.length, 2);
    assert.ok(
      r.config.warnings.some((w) => w.includes('filter absent ignored: BGPFilter absent does not exist')),
      r.config.warnings.join('; '),
    );
  });
});

// Test helpers of the datastore service: a real nats-server and a datastore on free loopback
// ports, a client, and one valid document of every kind.
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { startNatsServer, type NatsServerHandle } from '../../../shared/testing/index.js';
import { datastoreConfig, runDatastore, type DatastoreConfig, type DatastoreHandle } from '../run.js';

export interface TestDatastore {
  readonly nats: NatsServerHandle;
  datastore: DatastoreHandle;
  client: DatastoreClient;
  /** Stops the datastore and starts it again on a fresh port (same NATS); replaces `client`. */
  restartDatastore(): Promise<void>;
  stop(): Promise<void>;
}

export function testConfig(natsUrl: string, overrides: Partial<DatastoreConfig> = {}): DatastoreConfig {
  const defaults = Object.fromEntries(
    Object.entries(datastoreConfig).map(([k, v]) => [k, v.default]),
  ) as unknown as DatastoreConfig;
  return { ...defaults, listen: '127.0.0.1:0', metricsPort: 0, nats: natsUrl, insecure: true, ...overrides };
}

export async function startTestDatastore(overrides: Partial<DatastoreConfig> = {}): Promise<TestDatastore> {
  const nats = await startNatsServer();
  const log = createLogger('datastore-test');
  const config = testConfig(nats.url, overrides);
  let datastore: DatastoreHandle;
  try {
    datastore = await runDatastore(config, log);
  } catch (err) {
    await nats.stop();
    throw err;
  }
  const t: TestDatastore = {
    nats,
    datastore,
    client: createDatastoreClient(datastore.address),
    async restartDatastore() {
      t.client.close();
      await t.datastore.close();
      t.datastore = await runDatastore(config, log);
      t.client = createDatastoreClient(t.datastore.address);
    },
    async stop() {
      t.client.close();
      await t.datastore.close();
      await nats.stop();
    },
  };
  return t;
}

const V3 = 'projectcalico.org/v3';

/** One valid document of every stored kind. */
export const FIXTURES = [
  {
    apiVersion: V3,
    kind: 'Node',
    metadata: { name: 'node-a1.example.com', labels: { rack: 'a' } },
    spec: { bgp: { ipv4Address: '10.0.1.11/24', asNumber: 65001 } },
  },
  { apiVersion: V3, kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.244.0.0/16', blockSize: 26 } },
  {
    apiVersion: V3,
    kind: 'IPAMBlock',
    metadata: { name: '10-250-0-0-30' },
    spec: {
      cidr: '10.250.0.0/30',
      affinity: 'host:node-a1',
      allocations: [null, null, null, null],
      unallocated: [0, 1, 2, 3],
      attributes: [],
    },
  },
  {
    apiVersion: V3,
    kind: 'BlockAffinity',
    metadata: { name: 'node-a1-10-250-0-0-30' },
    spec: { node: 'node-a1', cidr: '10.250.0.0/30', state: 'confirmed' },
  },
  {
    apiVersion: V3,
    kind: 'WorkloadEndpoint',
    metadata: { name: 'node--a1-k8s-web--1-eth0', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      node: 'node-a1',
      orchestrator: 'k8s',
      pod: 'web-1',
      endpoint: 'eth0',
      interfaceName: 'cali0123456789a',
      ipNetworks: ['10.244.0.5/32'],
    },
  },
  {
    apiVersion: V3,
    kind: 'HostEndpoint',
    metadata: { name: 'node-a1-eth0' },
    spec: { node: 'node-a1', interfaceName: 'eth0', expectedIPs: ['10.0.1.11'] },
  },
  {
    apiVersion: V3,
    kind: 'Profile',
    metadata: { name: 'kns.shop' },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
  },
  {
    apiVersion: V3,
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-web', namespace: 'shop' },
    spec: { selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }] },
  },
  {
    apiVersion: V3,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'deny-all' },
    spec: { selector: 'all()', types: ['Ingress'] },
  },
  {
    apiVersion: V3,
    kind: 'BGPPeer',
    metadata: { name: 'tor-a' },
    spec: { peerIP: '10.0.1.1', asNumber: 65000, nodeSelector: "rack == 'a'" },
  },
  {
    apiVersion: V3,
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { asNumber: 64512, nodeToNodeMeshEnabled: false },
  },
  {
    apiVersion: V3,
    kind: 'LearnedRoute',
    metadata: { name: 'rr-0.10-0-1-1.192-168-0-0-24' },
    spec: {
      prefix: '192.168.0.0/24',
      nextHop: '10.0.1.1',
      asPath: [65000],
      communities: [],
      learnedBy: 'rr-0',
      peer: '10.0.1.1',
    },
  },
  {
    apiVersion: V3,
    kind: 'BGPFilter',
    metadata: { name: 'export-pods' },
    spec: { exportV4: [{ cidr: '10.244.0.0/16', matchOperator: 'In', action: 'Accept' }, { action: 'Reject' }] },
  },
  {
    apiVersion: V3,
    kind: 'FelixConfiguration',
    metadata: { name: 'default' },
    spec: { bpfEnabled: false, logSeverityScreen: 'Info', reportingInterval: '0s' },
  },
  {
    apiVersion: V3,
    kind: 'KubeControllersConfiguration',
    metadata: { name: 'default' },
    spec: { controllers: { node: { reconcilerPeriod: '5m' } } },
  },
  {
    apiVersion: V3,
    kind: 'ClusterInformation',
    metadata: { name: 'default' },
    spec: { clusterGUID: 'a1b2c3', clusterType: 'k8s,bgp', datastoreReady: true },
  },
  {
    apiVersion: V3,
    kind: 'IPAMConfiguration',
    metadata: { name: 'default' },
    spec: { strictAffinity: false, maxBlocksPerHost: 4 },
  },
  {
    apiVersion: V3,
    kind: 'IPReservation',
    metadata: { name: 'gateways' },
    spec: { reservedCIDRs: ['10.244.0.1/32', '10.244.255.0/24'] },
  },
  {
    apiVersion: V3,
    kind: 'GlobalNetworkSet',
    metadata: { name: 'dns-servers', labels: { role: 'dns' } },
    spec: { nets: ['8.8.8.8/32', '1.1.1.0/24'] },
  },
  {
    apiVersion: V3,
    kind: 'NetworkSet',
    metadata: { name: 'partners', namespace: 'shop' },
    spec: { nets: ['198.51.100.0/24'] },
  },
  { apiVersion: V3, kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } },
  {
    apiVersion: V3,
    kind: 'StagedNetworkPolicy',
    metadata: { name: 'try-web', namespace: 'shop' },
    spec: { selector: "app == 'web'", ingress: [{ action: 'Deny' }] },
  },
  {
    apiVersion: V3,
    kind: 'StagedGlobalNetworkPolicy',
    metadata: { name: 'try-deny' },
    spec: { stagedAction: 'Delete', tier: 'default' },
  },
  {
    apiVersion: V3,
    kind: 'StagedKubernetesNetworkPolicy',
    metadata: { name: 'try-k8s', namespace: 'shop' },
    spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] },
  },
  {
    apiVersion: V3,
    kind: 'CalicoNodeStatus',
    metadata: { name: 'node-a1-status' },
    spec: { node: 'node-a1', classes: ['BGP'], updatePeriodSeconds: 10 },
  },
] as const;

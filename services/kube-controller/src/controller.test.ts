// End to end: two `runKubeController` replicas against the fake API server (the real list/watch
// and Lease protocol, real v1 JSON) and a real datastore on a real nats-server. Pods are given
// addresses and endpoints the way the CNI plugin does (AutoAssign with handle
// k8s-pod-network.<containerID>, then a WorkloadEndpoint), so garbage collection is checked on
// what the plugin really leaves behind.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestDatastore, type TestDatastore } from '../../datastore/testing.js';
import { NotFoundError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/log/index.js';
import { kubeconfigFile } from './kube/config.js';
import { runKubeController, type KubeControllerHandle } from './run.js';
import { startFakeApiServer, type FakeApiServer } from './testing/fake-apiserver.js';

let ds: TestDatastore;
let api: FakeApiServer;
const replicas: KubeControllerHandle[] = [];

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const gone = async (kind: string, name: string, namespace?: string) => {
  try {
    await ds.client.get(kind, name, namespace);
    return false;
  } catch (err) {
    if (err instanceof NotFoundError) return true;
    throw err;
  }
};

const pod = (name: string, labels: Record<string, string>, sa = 'web') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels },
  spec: { nodeName: 'n1', serviceAccountName: sa, containers: [{ name: 'c', image: 'nginx:1.27' }] },
  status: { phase: 'Running' },
});

/** What the CNI plugin's ADD leaves: an address under handle k8s-pod-network.<cid> and an endpoint. */
async function cniAdd(podName: string, cid: string): Promise<string> {
  const { ipv4 } = await ds.client.autoAssign({
    node: 'n1',
    handleId: `k8s-pod-network.${cid}`,
    numIpv4: 1,
    attributes: { namespace: 'shop', pod: podName },
  });
  await ds.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: `n1-k8s-${podName.replaceAll('-', '--')}-eth0`,
      namespace: 'shop',
      labels: { 'projectcalico.org/namespace': 'shop', 'projectcalico.org/orchestrator': 'k8s' },
    },
    spec: {
      node: 'n1',
      orchestrator: 'k8s',
      pod: podName,
      endpoint: 'eth0',
      containerID: cid,
      interfaceName: 'cali0123456789a',
      mac: 'ee:ee:ee:ee:ee:ee',
      ipNetworks: [`${ipv4[0]!.address}/32`],
      profiles: ['kns.shop'],
    },
  });
  return ipv4[0]!.address;
}
const wep = (podName: string) =>
  ds.client.get('WorkloadEndpoint', `n1-k8s-${podName.replaceAll('-', '--')}-eth0`, 'shop');
const leader = () => replicas.find((r) => r.leading());

before(async () => {
  ds = await startTestDatastore();
  api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  await ds.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'pods' },
    spec: { cidr: '10.244.0.0/16', blockSize: 26 },
  });
  await ds.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'hand-written' },
    spec: { labelsToApply: { x: 'y' } },
  });
  api.put('namespaces', { metadata: { name: 'shop', labels: { team: 'a', 'kubernetes.io/metadata.name': 'shop' } } });
  api.put('serviceaccounts', { metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } } });
  api.put('nodes', {
    metadata: {
      name: 'n1',
      labels: { 'kubernetes.io/hostname': 'n1' },
      annotations: { 'projectcalico.org/ASNumber': '64512' },
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: '10.0.0.1' },
        { type: 'Hostname', address: 'n1' },
      ],
    },
  });
  api.put('nodes', {
    metadata: { name: 'n2', annotations: { 'projectcalico.org/IPv4Address': '10.0.0.2/24' } },
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] },
  });
  api.put('pods', pod('web-1', { app: 'web' }));
  api.put('pods', pod('web-2', { app: 'web' }));
  api.put('networkpolicies', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-fe', namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'fe' } } }], ports: [{ port: 80 }] }],
    },
  });
  // Both replicas read a kubeconfig, as `meshless kube-controller --kubeconfig` does.
  const dir = mkdtempSync(join(tmpdir(), 'kubecfg-'));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\ncurrent-context: t\ncontexts:\n- name: t\n  context: {cluster: c, user: u, namespace: meshless}\nclusters:\n- name: c\n  cluster: {server: "${api.url}"}\nusers:\n- name: u\n  user: {token: abc}\n`,
  );
  for (const id of ['replica-a', 'replica-b']) {
    replicas.push(
      await runKubeController({
        kube: kubeconfigFile(file),
        datastore: ds.datastore.address,
        log: createLogger('kube-controller-test', { id }),
        identity: id,
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
        watchTimeoutSeconds: 30,
        metrics: { host: '127.0.0.1', port: 0 },
      }),
    );
  }
  // IPAM assigns only on a Node the datastore knows: the controller creates it from Kubernetes.
  await until('Node n1 from Kubernetes', () => ds.client.get('Node', 'n1'));
  await cniAdd('web-1', 'c1');
  await cniAdd('web-2', 'c2');
  await cniAdd('ghost', 'c3'); // a pod Kubernetes does not have, whose CNI DEL never ran
});

after(async () => {
  for (const r of replicas) await r.close();
  await api?.close();
  await ds?.stop();
});

test('exactly one replica leads, and the Lease names it', async () => {
  const l = await until('a leader', () => leader());
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(replicas.filter((r) => r.leading()).length, 1);
  const lease = api.get('leases', 'meshless-kube-controller', 'meshless') as unknown as {
    spec: { holderIdentity: string; leaseDurationSeconds: number };
  };
  assert.equal(lease.spec.holderIdentity, l.identity);
  assert.equal(lease.spec.leaseDurationSeconds, 3);
  // Both are ready (the standby is doing its job); the leader says so in its metrics.
  for (const r of replicas) {
    const ready = await until(
      'ready',
      async () => (await fetch(`http://127.0.0.1:${r.metricsPort}/readyz`)).status === 200,
    );
    assert.ok(ready);
    const metrics = await (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`meshless_kube_controller_leader ${r === l ? 1 : 0}`));
  }
});

test('initial sync: profiles, nodes, endpoint labels, the converted policy; a vanished pod is collected', async () => {
  const kns = await until('kns.shop', () => ds.client.get('Profile', 'kns.shop'));
  assert.deepEqual((kns.spec as { labelsToApply: object }).labelsToApply, {
    'pcns.team': 'a',
    'pcns.kubernetes.io/metadata.name': 'shop',
    'pcns.projectcalico.org/name': 'shop',
  });
  const ksa = await until('ksa.shop.web', () => ds.client.get('Profile', 'ksa.shop.web'));
  assert.deepEqual((ksa.spec as { labelsToApply: object }).labelsToApply, {
    'pcsa.app': 'web',
    'pcsa.projectcalico.org/name': 'web',
  });

  const n1 = await until('Node n1', () => ds.client.get('Node', 'n1'));
  assert.deepEqual(n1.spec, {
    addresses: [{ address: '10.0.0.1', type: 'InternalIP' }],
    orchRefs: [{ nodeName: 'n1', orchestrator: 'k8s' }],
    bgp: { ipv4Address: '10.0.0.1', asNumber: 64512 },
  });
  assert.deepEqual(n1.metadata.labels, { 'kubernetes.io/hostname': 'n1' });
  const n2 = await until('Node n2', () => ds.client.get('Node', 'n2'));
  assert.equal((n2.spec as { bgp: { ipv4Address: string } }).bgp.ipv4Address, '10.0.0.2/24');

  const e = await until('web-1 labels', async () => {
    const w = await wep('web-1');
    return w.metadata.labels?.app === 'web' && w;
  });
  assert.deepEqual(e.metadata.labels, {
    app: 'web',
    'projectcalico.org/namespace': 'shop',
    'projectcalico.org/orchestrator': 'k8s',
    'projectcalico.org/serviceaccount': 'web',
  });
  assert.deepEqual((e.spec as { profiles: string[] }).profiles, ['kns.shop', 'ksa.shop.web']);

  const knp = await until('knp.default.allow-fe', () => ds.client.get('NetworkPolicy', 'knp.default.allow-fe', 'shop'));
  assert.deepEqual(knp.spec, {
    tier: 'default',
    order: 1000,
    selector: "projectcalico.org/orchestrator == 'k8s' && app == 'web'",
    types: ['Ingress'],
    ingress: [
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { selector: "projectcalico.org/orchestrator == 'k8s' && role == 'fe'" },
        destination: { ports: [80] },
      },
    ],
  });

  // Users cannot write the converted policy's name; only the controller's converted writes can.
  await assert.rejects(
    ds.client.apply({ ...knp, metadata: { name: 'knp.default.allow-fe', namespace: 'shop' } }),
    /cannot be created/,
  );

  await until('the ghost endpoint deleted', () => gone('WorkloadEndpoint', 'n1-k8s-ghost-eth0', 'shop'));
  assert.deepEqual(await ds.client.handleAddresses('k8s-pod-network.c3'), []);
  assert.ok(await ds.client.get('Profile', 'hand-written'), 'resources the controller does not own stay');

  // A full pass over unchanged objects writes nothing.
  const stats = leader()!.controller()!.stats;
  await until('queue drained', async () => {
    const w = stats.written;
    await new Promise((r) => setTimeout(r, 500));
    return w === stats.written;
  });
  const before = { ...stats };
  const lists = leader()!.controller()!.reflectors.namespace.lists;
  api.dropWatches();
  api.put('leases', { metadata: { name: 'unrelated', namespace: 'other' } }); // moves the resourceVersion on
  api.compact(); // every reflector's resume point is now too old: 410, LIST, a full pass
  await until(
    'a full pass ran',
    () => stats.reconciled >= before.reconciled + 8 && leader()!.controller()!.reflectors.namespace.lists > lists,
  );
  assert.equal(stats.written, before.written, 'nothing rewritten');
});

test('watch: pod and namespace label changes reach the datastore', async () => {
  api.put('pods', pod('web-1', { app: 'web', version: 'v2' }));
  api.put('namespaces', { metadata: { name: 'shop', labels: { team: 'b' } } });
  await until('web-1 version=v2', async () => (await wep('web-1')).metadata.labels?.version === 'v2');
  await until(
    'pcns.team=b',
    async () =>
      ((await ds.client.get('Profile', 'kns.shop')).spec as { labelsToApply: Record<string, string> }).labelsToApply[
        'pcns.team'
      ] === 'b',
  );
  assert.ok(
    api.requests.some((r) => r.startsWith('watch pods') && r.endsWith('bookmarks=true')),
    'watches ask for bookmarks',
  );
});

test('410 Gone: a pod deleted while the watch was down is found by the re-list and collected', async () => {
  const pods = leader()!.controller()!.reflectors.pod;
  const listsBefore = pods.lists;
  // Atomically (one tick): the stream ends, the pod goes, and history is compacted past it, so
  // the reflector's resume point is too old.
  api.dropWatches();
  api.remove('pods', 'web-2', 'shop');
  api.compact();
  await until('web-2 endpoint collected', () => gone('WorkloadEndpoint', 'n1-k8s-web--2-eth0', 'shop'));
  assert.deepEqual(await ds.client.handleAddresses('k8s-pod-network.c2'), []);
  assert.ok(pods.lists > listsBefore, 'listed again after 410');
  assert.ok((await ds.client.handleAddresses('k8s-pod-network.c1')).length === 1, 'a live pod keeps its address');
});

test('bookmarks move the resume point without events', async () => {
  const pods = leader()!.controller()!.reflectors.pod;
  api.put('nodes', { metadata: { name: 'n3' } }); // bumps the global resourceVersion only
  const rv = api.get('nodes', 'n3')!.metadata.resourceVersion!;
  await until('pod reflector at the latest rv via a bookmark', () => Number(pods.resourceVersion) >= Number(rv));
});

test('deleting a Kubernetes Node deletes the Node and releases its blocks and affinities', async () => {
  await ds.client.allocateBlock('n2', { pool: 'pods' });
  assert.equal(
    (await ds.client.list('BlockAffinity')).items.filter((a) => (a.spec as { node: string }).node === 'n2').length,
    1,
  );
  api.remove('nodes', 'n2');
  await until('Node n2 deleted', () => gone('Node', 'n2'));
  await until('n2 affinities released', async () =>
    (await ds.client.list('BlockAffinity')).items.every((a) => (a.spec as { node: string }).node !== 'n2'),
  );
});

test('deleting a NetworkPolicy or a ServiceAccount deletes what was converted from it', async () => {
  api.remove('networkpolicies', 'allow-fe', 'shop');
  api.remove('serviceaccounts', 'web', 'shop');
  await until('knp deleted', () => gone('NetworkPolicy', 'knp.default.allow-fe', 'shop'));
  await until('ksa deleted', () => gone('Profile', 'ksa.shop.web'));
});

test('failover: the leader releases the lease on close and the other replica takes over and keeps going', async () => {
  const old = leader()!;
  const other = replicas.find((r) => r !== old)!;
  await old.close();
  await until('the other replica leads', () => other.leading(), 10_000);
  assert.equal(
    (api.get('leases', 'meshless-kube-controller', 'meshless') as unknown as { spec: { holderIdentity: string } }).spec
      .holderIdentity,
    other.identity,
  );
  api.put('pods', pod('web-1', { app: 'web', version: 'v3' }));
  await until(
    'web-1 version=v3 from the new leader',
    async () => (await wep('web-1')).metadata.labels?.version === 'v3',
  );
});

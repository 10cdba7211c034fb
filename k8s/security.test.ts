// Offline checks of the manifests' security (issue 12), so that a regression fails CI: every pod
// and container is locked down (securityContext, no service-account token but the controller's),
// no component runs in plain text, every component mounts its TLS credentials, the NATS
// configuration is the one services/shared/nats writes for `npm start` (allow lists, TLS routes)
// and a real nats-server accepts it, cert-manager Certificates exist for every mounted Secret,
// and the NetworkPolicies allow the flows the control plane needs and not others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { datastorePermissions, syncServerPermissions } from '../services/shared/nats/index.js';
import { createTestPki, NATS_SERVER_BIN } from '../services/shared/testing/index.js';

const dir = dirname(fileURLToPath(import.meta.url));
type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
const load = (file: string): Obj[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Obj);
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => load(join(dir, f)));
const workloads = docs.filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(d.kind));
const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
const certificates = load(join(dir, 'cert-manager', 'certificates.yaml')).filter((d) => d.kind === 'Certificate');
const natsConf = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'nats-config')!.data!['nats.conf']!;

const podOf = (w: Obj) => w.spec.template.spec;
const labelsOf = (w: Obj): Record<string, string> => w.spec.template.metadata.labels;
const containersOf = (w: Obj): any[] => [...(podOf(w).initContainers ?? []), ...podOf(w).containers];
const workload = (name: string) => workloads.find((w) => w.metadata.name === name)!;

/** Containers that need root (host directories, routes, port 179), with the only capabilities they may add. */
const ROOT: Record<string, string[]> = {
  'meshless-agent/install-cni': [],
  'meshless-agent/agent': ['NET_ADMIN'],
  'meshless-rr/rr': ['NET_BIND_SERVICE'],
};

test("every pod: seccomp RuntimeDefault; no service-account token except the kube-controller's", () => {
  assert.ok(workloads.length >= 6);
  for (const w of workloads) {
    const pod = podOf(w);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${w.metadata.name}: pod seccompProfile`);
    const wantsToken = w.metadata.name === 'meshless-kube-controller';
    assert.equal(
      pod.automountServiceAccountToken,
      wantsToken,
      `${w.metadata.name}: automountServiceAccountToken must be ${wantsToken}`,
    );
    if (!wantsToken) assert.equal(pod.serviceAccountName, undefined, `${w.metadata.name}: no service account`);
  }
});

test('every container: no privilege escalation, read-only root, ALL capabilities dropped, non-root unless it needs root', () => {
  let checked = 0;
  for (const w of workloads) {
    const pod = podOf(w);
    for (const c of containersOf(w)) {
      const key = `${w.metadata.name}/${c.name}`;
      const sc = c.securityContext ?? {};
      assert.equal(sc.allowPrivilegeEscalation, false, `${key}: allowPrivilegeEscalation`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${key}: readOnlyRootFilesystem`);
      assert.ok(sc.privileged !== true, `${key}: privileged`);
      assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${key}: capabilities.drop`);
      const root = ROOT[key];
      assert.deepEqual(sc.capabilities?.add ?? [], root ?? [], `${key}: capabilities.add`);
      const runAsNonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      const runAsUser = sc.runAsUser ?? pod.securityContext?.runAsUser;
      if (root) {
        assert.deepEqual([runAsUser, runAsNonRoot], [0, false], `${key}: root, explicitly`);
      } else {
        assert.equal(runAsNonRoot, true, `${key}: runAsNonRoot`);
        // By number: the kubelet cannot check runAsNonRoot against the image's named user.
        assert.ok(Number.isInteger(runAsUser) && runAsUser > 0, `${key}: numeric non-root runAsUser`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 7);
});

test('nothing runs in plain text: no MESHLESS_INSECURE or --insecure; every component mounts its credentials', () => {
  const env = (c: any, name: string): string | undefined => c.env?.find((e: any) => e.name === name)?.value;
  const mountedFrom = (w: Obj, c: any, path: string) => {
    const m = (c.volumeMounts ?? []).find((v: any) => v.mountPath === path);
    assert.ok(m, `${w.metadata.name}/${c.name}: nothing mounted at ${path}`);
    assert.equal(m.readOnly, true, `${w.metadata.name}/${c.name}: ${path} read-only`);
    return podOf(w).volumes.find((v: any) => v.name === m.name);
  };
  for (const w of workloads) {
    for (const c of containersOf(w)) {
      assert.equal(env(c, 'MESHLESS_INSECURE'), undefined, `${w.metadata.name}/${c.name}: MESHLESS_INSECURE`);
      assert.ok(!(c.args ?? []).includes('--insecure'), `${w.metadata.name}/${c.name}: --insecure`);
    }
  }
  const expected: Record<string, { secret?: string; hostPath?: string; nats?: boolean }> = {
    'meshless-datastore': { secret: 'meshless-datastore-tls', nats: true },
    'meshless-sync': { secret: 'meshless-sync-tls', nats: true },
    'meshless-kube-controller': { secret: 'meshless-kube-controller-tls' },
    'meshless-agent': { hostPath: '/etc/meshless/node' },
    'meshless-rr': { hostPath: '/etc/meshless/reflector' },
  };
  for (const [name, want] of Object.entries(expected)) {
    const w = workload(name);
    const c = podOf(w).containers[0];
    const path = env(c, 'MESHLESS_CREDENTIALS');
    assert.ok(path, `${name}: MESHLESS_CREDENTIALS`);
    const volume = mountedFrom(w, c, path);
    if (want.secret)
      assert.equal(volume.secret?.secretName, want.secret, `${name}: credentials from Secret ${want.secret}`);
    // Type Directory: a node without its certificate does not start the pod instead of running without one.
    if (want.hostPath)
      assert.deepEqual(
        volume.hostPath,
        { path: want.hostPath, type: 'Directory' },
        `${name}: credentials from the host`,
      );
    if (want.nats) assert.equal(env(c, 'MESHLESS_NATS_CREDENTIALS'), path, `${name}: MESHLESS_NATS_CREDENTIALS`);
  }
  // The CNI plugin (installed by the agent's init container) gets the node's certificate too.
  const install = podOf(workload('meshless-agent')).initContainers[0];
  assert.equal(install.args[install.args.indexOf('--cni-tls-dir') + 1], '/etc/meshless/node');
  // NATS: its Secret, and the configuration's files under that mount.
  const nats = workload('nats');
  const tls = mountedFrom(nats, podOf(nats).containers[0], '/etc/nats/tls');
  assert.equal(tls.secret?.secretName, 'meshless-nats-tls');
  for (const f of ['tls.crt', 'tls.key', 'ca.crt'])
    assert.ok(natsConf.includes(`"/etc/nats/tls/${f}"`), `nats.conf uses /etc/nats/tls/${f}`);
});

/** The users of a nats.conf: user → permissions. */
function natsUsers(conf: string): Map<string, { publish: string[]; subscribe: string[] }> {
  const users = new Map<string, { publish: string[]; subscribe: string[] }>();
  const re =
    /\{ user: "([^"]+)", permissions: \{ publish: \{ allow: (\[[^\]]*\]) \}, subscribe: \{ allow: (\[[^\]]*\]) \} \} \}/g;
  for (const m of conf.matchAll(re)) users.set(m[1]!, { publish: JSON.parse(m[2]!), subscribe: JSON.parse(m[3]!) });
  return users;
}

test('NATS: the users and allow lists services/shared/nats writes, TLS and route auth on the cluster port', () => {
  const users = natsUsers(natsConf);
  assert.deepEqual([...users.keys()].sort(), [
    'meshless://datastore/meshless-datastore',
    'meshless://sync-server/meshless-sync',
  ]);
  assert.deepEqual(users.get('meshless://datastore/meshless-datastore'), datastorePermissions('meshless-datastore'));
  assert.deepEqual(users.get('meshless://sync-server/meshless-sync'), syncServerPermissions('meshless-sync'));
  // Exactly one `users` list and no other authorization: nobody else connects.
  assert.equal(natsConf.match(/\buser:/g)?.length, 3, 'two client users and the one route user');
  const cluster = natsConf.slice(natsConf.indexOf('cluster {'));
  assert.match(cluster, /authorization \{ user: "meshless:\/\/nats\/nats" \}/);
  assert.match(cluster, /tls \{[^}]*verify_and_map: true[^}]*\}/);
  assert.match(natsConf.slice(0, natsConf.indexOf('cluster {')), /tls \{[^}]*verify_and_map: true[^}]*\}/);
});

test("NATS: a real nats-server accepts the ConfigMap's configuration with certificates like the Secret's", async () => {
  const pki = await createTestPki();
  const scratch = mkdtempSync(join(tmpdir(), 'meshless-k8s-nats-'));
  try {
    const dns = certificates.find((c) => c.spec.secretName === 'meshless-nats-tls')!.spec.dnsNames as string[];
    const creds = await pki.issue('nats', 'nats', { hosts: dns });
    const conf = natsConf
      .replaceAll('/etc/nats/tls/', `${creds}/`)
      .replace('store_dir: /data', `store_dir: ${JSON.stringify(join(scratch, 'js'))}`);
    writeFileSync(join(scratch, 'nats.conf'), conf);
    const r = spawnSync(NATS_SERVER_BIN, ['-t', '-c', join(scratch, 'nats.conf')], {
      encoding: 'utf8',
      env: { ...process.env, POD_NAME: 'nats-0' },
    });
    assert.equal(r.status, 0, `nats-server -t: ${r.stdout}${r.stderr}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    pki.remove();
  }
});

test('cert-manager Certificates: one for every mounted Secret, with the identity its component needs', () => {
  const mounted = new Set(
    workloads.flatMap((w) => (podOf(w).volumes ?? []).map((v: any) => v.secret?.secretName).filter(Boolean)),
  );
  const identities: Record<string, string> = {
    'meshless-nats-tls': 'meshless://nats/nats',
    'meshless-datastore-tls': 'meshless://datastore/meshless-datastore',
    'meshless-sync-tls': 'meshless://sync-server/meshless-sync',
    'meshless-kube-controller-tls': 'meshless://controller/meshless-kube-controller',
  };
  assert.deepEqual([...mounted].sort(), Object.keys(identities).sort());
  for (const [secret, uri] of Object.entries(identities)) {
    const c = certificates.find((x) => x.spec.secretName === secret);
    assert.ok(c, `no Certificate for ${secret}`);
    assert.deepEqual(c.spec.uris, [uri], `${secret}: identity`);
    assert.deepEqual(c.spec.privateKey, { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
    assert.ok(c.spec.usages.includes('server auth') && c.spec.usages.includes('client auth'), `${secret}: usages`);
  }
  // The NATS users are exactly the identities of the datastore's and the sync servers' Secrets.
  assert.deepEqual([...natsUsers(natsConf).keys()].sort(), [
    identities['meshless-datastore-tls'],
    identities['meshless-sync-tls'],
  ]);
});

// ---- NetworkPolicies: a small evaluator of the Kubernetes semantics this project uses ----

const NAMESPACE = 'meshless-system';
/** A traffic end: a pod (labels, namespace) or an address outside any pod (host network, switch, operator). */
type End = { labels: Record<string, string>; namespace: string; hostNetwork?: boolean } | 'outside';
const pod = (name: string): End => ({
  labels: labelsOf(workload(name)),
  namespace: NAMESPACE,
  hostNetwork: podOf(workload(name)).hostNetwork === true,
});
const prometheus: End = { labels: { 'app.kubernetes.io/name': 'prometheus' }, namespace: 'monitoring' };
const matches = (sel: any, labels: Record<string, string>) =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
const selecting = (end: End, type: 'Ingress' | 'Egress') =>
  end === 'outside' || end.namespace !== NAMESPACE
    ? []
    : policies.filter((p) => matches(p.spec.podSelector, end.labels) && p.spec.policyTypes.includes(type));
const peerMatches = (peer: any, end: End) => {
  if (peer.ipBlock) return end === 'outside';
  if (end === 'outside') return false;
  const nsOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': end.namespace })
    : end.namespace === NAMESPACE;
  return nsOk && (!peer.podSelector || matches(peer.podSelector, end.labels));
};
const ruleAllows = (rule: any, peers: any[] | undefined, other: End, port: number) =>
  (!rule.ports || rule.ports.some((p: any) => (p.protocol ?? 'TCP') === 'TCP' && p.port === port)) &&
  (!peers || peers.length === 0 || peers.some((x) => peerMatches(x, other)));
/** Whether `from` may open a TCP connection to `to`:port under the policies (a host-network source is an outside address). */
function allowed(from: End, to: End, port: number): boolean {
  const src: End = from !== 'outside' && from.hostNetwork ? 'outside' : from;
  const ingress = selecting(to, 'Ingress');
  const inOk =
    ingress.length === 0 ||
    ingress.some((p) => (p.spec.ingress ?? []).some((r: any) => ruleAllows(r, r.from, src, port)));
  const egress = selecting(src, 'Egress');
  const dst: End = to !== 'outside' && to.hostNetwork ? 'outside' : to;
  const outOk =
    egress.length === 0 || egress.some((p) => (p.spec.egress ?? []).some((r: any) => ruleAllows(r, r.to, dst, port)));
  return inOk && outOk;
}

test('NetworkPolicies: deny by default, every workload selected by its own policy', () => {
  const deny = policies.find((p) => p.metadata.name === 'meshless-default-deny');
  assert.ok(deny, 'a default-deny policy');
  assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  for (const w of workloads) {
    const own = policies.filter(
      (p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length > 0 && matches(p.spec.podSelector, labelsOf(w)),
    );
    assert.equal(own.length, 1, `${w.metadata.name}: one policy of its own`);
  }
});

test('NetworkPolicies allow the flows the control plane needs', () => {
  const flows: Array<[string, End, End, number]> = [
    ['agents -> sync', pod('meshless-agent'), pod('meshless-sync'), 5473],
    ['reflectors -> sync', pod('meshless-rr'), pod('meshless-sync'), 5473],
    ['reflectors -> datastore', pod('meshless-rr'), pod('meshless-datastore'), 5470],
    ['CNI plugin / CLI (outside) -> datastore', 'outside', pod('meshless-datastore'), 5470],
    ['kube-controller -> datastore', pod('meshless-kube-controller'), pod('meshless-datastore'), 5470],
    ['kube-controller -> Kubernetes API', pod('meshless-kube-controller'), 'outside', 6443],
    ['datastore -> NATS', pod('meshless-datastore'), pod('nats'), 4222],
    ['sync -> NATS', pod('meshless-sync'), pod('nats'), 4222],
    ['NATS routes', pod('nats'), pod('nats'), 6222],
    ['switch -> reflector BGP', 'outside', pod('meshless-rr'), 179],
    ['Prometheus -> datastore metrics', prometheus, pod('meshless-datastore'), 9091],
    ['Prometheus -> sync metrics', prometheus, pod('meshless-sync'), 9093],
    ['Prometheus -> agent metrics', prometheus, pod('meshless-agent'), 9095],
    ['Prometheus -> reflector metrics', prometheus, pod('meshless-rr'), 9096],
    ['Prometheus -> kube-controller metrics', prometheus, pod('meshless-kube-controller'), 9097],
    ['Prometheus -> NATS monitor', prometheus, pod('nats'), 8222],
  ];
  for (const [what, from, to, port] of flows) assert.ok(allowed(from, to, port), `${what} (${port}) must be allowed`);
  // Every metrics port a workload declares is among them.
  for (const w of workloads) {
    for (const c of podOf(w).containers) {
      const metrics = (c.ports ?? []).find((p: any) => p.name === 'metrics' || p.name === 'monitor');
      if (metrics)
        assert.ok(
          allowed(prometheus, pod(w.metadata.name), metrics.containerPort),
          `Prometheus -> ${w.metadata.name}:${metrics.containerPort}`,
        );
    }
  }
});

test('NetworkPolicies refuse what no component needs', () => {
  const refused: Array<[string, End, End, number]> = [
    ['outside -> NATS client port', 'outside', pod('nats'), 4222],
    ['agents -> NATS', pod('meshless-agent'), pod('nats'), 4222],
    ['kube-controller -> NATS', pod('meshless-kube-controller'), pod('nats'), 4222],
    ['outside -> NATS routes', 'outside', pod('nats'), 6222],
    ['datastore -> NATS routes', pod('meshless-datastore'), pod('nats'), 6222],
    ['outside -> NATS monitor', 'outside', pod('nats'), 8222],
    ['outside -> datastore metrics', 'outside', pod('meshless-datastore'), 9091],
    ['datastore -> sync', pod('meshless-datastore'), pod('meshless-sync'), 5473],
    ['sync -> datastore', pod('meshless-sync'), pod('meshless-datastore'), 5470],
    ['datastore -> anywhere outside', pod('meshless-datastore'), 'outside', 443],
    ['sync -> Kubernetes API', pod('meshless-sync'), 'outside', 6443],
    ['kube-controller metrics from outside', 'outside', pod('meshless-kube-controller'), 9097],
  ];
  for (const [what, from, to, port] of refused)
    assert.ok(!allowed(from, to, port), `${what} (${port}) must be refused`);
});

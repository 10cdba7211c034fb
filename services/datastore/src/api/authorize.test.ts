// Bad actors against a real datastore serving mutual TLS (real nats-server, real gRPC): every role
// is refused outside its scope with PERMISSION_DENIED, and clients without an acceptable
// certificate (none, another CA, expired, plain text) never get a connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { PermissionDeniedError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { createTestPki, startNatsServer, type NatsServerHandle, type TestPki } from '../../../shared/testing/index.js';
import { createCa, issueCertificate } from '../../../shared/tls/index.js';
import { DatastoreServiceClient } from '../../../../proto/gen/meshless/v1/datastore.js';
import { runDatastore, type DatastoreHandle } from '../run.js';
import { FIXTURES, testConfig } from '../testing/index.js';

const V3 = 'projectcalico.org/v3';
const fixture = (kind: string) => FIXTURES.find((f) => f.kind === kind)!;
const wep = (name: string, node: string) => ({
  apiVersion: V3,
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'shop' },
  spec: {
    node,
    orchestrator: 'k8s',
    pod: name,
    endpoint: 'eth0',
    interfaceName: `cali${name.padEnd(11, '0').slice(0, 11)}`,
    ipNetworks: ['10.244.0.9/32'],
  },
});
const node = (name: string) => ({
  apiVersion: V3,
  kind: 'Node',
  metadata: { name },
  spec: { bgp: { ipv4Address: '10.0.1.11/24' } },
});
const learned = (by: string) => ({
  ...fixture('LearnedRoute'),
  metadata: { name: `${by}.10-0-1-1.192-168-0-0-24` },
  spec: { ...fixture('LearnedRoute').spec, learnedBy: by },
});

let nats: NatsServerHandle;
let pki: TestPki;
let ds: DatastoreHandle;
const clients: DatastoreClient[] = [];
const as = async (role: Parameters<TestPki['issue']>[0], name: string) => {
  const c = createDatastoreClient(ds.address, { credentials: await pki.issue(role, name), deadlineMs: 10_000 });
  clients.push(c);
  return c;
};
const denied = (p: Promise<unknown>, what: RegExp) =>
  assert.rejects(p, (err: unknown) => err instanceof PermissionDeniedError && what.test((err as Error).message));

before(async () => {
  nats = await startNatsServer();
  pki = await createTestPki();
  ds = await runDatastore(
    testConfig(nats.url, { insecure: false, credentials: await pki.issue('datastore', 'datastore-0') }),
    createLogger('authz-test'),
  );
  const admin = await as('admin', 'root');
  for (const doc of [node('node-a'), node('node-b'), fixture('IPPool'), wep('web-b', 'node-b'), learned('rr-1')])
    await admin.apply(doc);
});

after(async () => {
  for (const c of clients) c.close();
  await ds.close();
  await nats.stop();
  pki.remove();
});

describe('roles outside their scope get PERMISSION_DENIED', () => {
  test("node: only its own WorkloadEndpoints, Node and IPAM; never another node's", async () => {
    const a = await as('node', 'node-a');
    await a.apply(wep('web-a', 'node-a'));
    await denied(a.apply(wep('evil', 'node-b')), /node 'node-a' may not Apply WorkloadEndpoint of "node-b"/);
    // Taking over node-b's endpoint by rewriting its node is refused on the stored document.
    await denied(a.apply(wep('web-b', 'node-a')), /may not Apply WorkloadEndpoint of "node-b"/);
    await denied(
      a.delete('WorkloadEndpoint', 'web-b', { namespace: 'shop' }),
      /may not Delete WorkloadEndpoint of "node-b"/,
    );
    await denied(a.get('WorkloadEndpoint', 'web-b', 'shop'), /may not Get WorkloadEndpoint 'web-b'/);
    assert.deepEqual(
      (await a.list('WorkloadEndpoint')).items.map((r) => r.metadata.name),
      ['web-a'],
      'a list shows only its own',
    );
    assert.equal((await a.get('Node', 'node-a')).metadata.name, 'node-a');
    await denied(a.get('Node', 'node-b'), /may not Get Node 'node-b'/);
    await denied(a.list('IPPool'), /may not List IPPool/);
    await denied(a.apply(fixture('IPPool')), /may not Apply IPPool/);
    await denied(a.delete('Node', 'node-b'), /may not Delete Node/);
    assert.equal((await a.allocateBlock('node-a')).affinity.spec && true, true);
    await denied(a.allocateBlock('node-b'), /AllocateBlock for node "node-b"/);
    await denied(a.releaseBlocks('node-b'), /ReleaseBlocks for node "node-b"/);
    await denied(a.ipamShow(), /IpamShow/);
    await denied(
      (async () => {
        for await (const _ of a.watch({ kinds: ['WorkloadEndpoint'] })) break;
      })(),
      /may not Watch/,
    );
  });

  test('reflector: its own LearnedRoutes only', async () => {
    const r = await as('reflector', 'rr-0');
    await r.apply(learned('rr-0'));
    await denied(r.apply(learned('rr-9')), /may not Apply LearnedRoute of "rr-9"/);
    await denied(r.delete('LearnedRoute', 'rr-1.10-0-1-1.192-168-0-0-24'), /may not Delete LearnedRoute of "rr-1"/);
    assert.deepEqual(
      (await r.list('LearnedRoute')).items.map((x) => (x.spec as { learnedBy: string }).learnedBy),
      ['rr-0'],
    );
    await denied(r.list('Node'), /may not List Node/);
    await denied(r.apply(fixture('BGPPeer')), /may not Apply BGPPeer/);
  });

  test('read-only and sync-server read everything and write nothing', async () => {
    for (const [role, name] of [
      ['read-only', 'viewer'],
      ['sync-server', 'sync-0'],
    ] as const) {
      const c = await as(role, name);
      assert.ok((await c.list('Node')).items.length >= 2);
      await c.ipamShow();
      await denied(c.apply(fixture('Profile')), new RegExp(`${role} '${name}' may not Apply Profile`));
      await denied(c.delete('Node', 'node-b'), /may not Delete Node/);
      await denied(c.releaseBlocks('node-a'), /ReleaseBlocks/);
    }
  });

  test('controller: what the Kubernetes controller writes, not pools or BGP', async () => {
    const c = await as('controller', 'kube-controllers');
    await c.apply(fixture('Profile'));
    await c.apply(wep('web-c', 'node-b'));
    await c.releaseBlocks('node-gone');
    await denied(c.apply(fixture('IPPool')), /may not Apply IPPool/);
    await denied(c.apply(fixture('BGPConfiguration')), /may not Apply BGPConfiguration/);
    await denied(c.allocateBlock('node-a'), /AllocateBlock/);
  });

  test('converted writes (knp.default.*): the controller role asking for them, nobody else', async () => {
    const knp = {
      apiVersion: V3,
      kind: 'NetworkPolicy',
      metadata: { name: 'knp.default.web', namespace: 'shop' },
      spec: { selector: 'all()' },
    };
    const controller = createDatastoreClient(ds.address, {
      credentials: await pki.issue('controller', 'kube-controllers'),
      convertedFrom: 'k8s',
      deadlineMs: 10_000,
    });
    const admin = createDatastoreClient(ds.address, {
      credentials: await pki.issue('admin', 'root'),
      convertedFrom: 'k8s',
      deadlineMs: 10_000,
    });
    clients.push(controller, admin);
    await controller.apply(knp);
    await denied(admin.apply(knp), /admin 'root' may not write as the orchestrator's controller/);
    // Without asking, even the controller gets Calico's refusal of the reserved name.
    await assert.rejects((await as('controller', 'kube-controllers')).apply(knp), /cannot be created/);
  });

  test('a server identity (datastore) may do nothing as a client', async () => {
    const c = await as('datastore', 'other-datastore');
    await denied(c.list('Node'), /datastore 'other-datastore' may not List Node/);
  });

  test('denials are counted by method and role', async () => {
    const text = await (await fetch(`http://127.0.0.1:${ds.metricsPort}/metrics`)).text();
    assert.match(text, /meshless_datastore_permission_denied_total\{method="Apply",role="node"[^}]*\} [1-9]/);
    assert.match(text, /meshless_datastore_permission_denied_total\{method="List",role="reflector"[^}]*\} [1-9]/);
  });
});

describe('clients without an acceptable certificate get no connection', () => {
  /** A raw client, as an attacker builds one: its own TLS settings, no checks of ours. */
  const rawList = (creds: ReturnType<typeof credentials.createSsl> | ReturnType<typeof credentials.createInsecure>) =>
    new Promise<ServiceError | null>((resolve) => {
      const c = new DatastoreServiceClient(ds.address, creds, { 'grpc.ssl_target_name_override': 'meshless' });
      c.list(
        { kind: 'Node', namespace: '', labelSelector: '' },
        new Metadata(),
        { deadline: Date.now() + 5000 },
        (err) => {
          c.close();
          resolve(err);
        },
      );
    });
  const lenient = { checkServerIdentity: () => undefined };

  test('plain text', async () => {
    assert.equal((await rawList(credentials.createInsecure()))?.code, status.UNAVAILABLE);
  });

  test('TLS without a client certificate', async () => {
    assert.equal(
      (await rawList(credentials.createSsl(Buffer.from(pki.ca.cert), null, null, lenient)))?.code,
      status.UNAVAILABLE,
    );
  });

  test('a certificate from another CA, claiming admin', async () => {
    const other = await createCa({ name: 'evil-ca' });
    const forged = await issueCertificate(other, { identity: { role: 'admin', name: 'root' } });
    assert.equal(
      (
        await rawList(
          credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(forged.key), Buffer.from(forged.cert), lenient),
        )
      )?.code,
      status.UNAVAILABLE,
    );
  });

  test('an expired certificate from our CA', async () => {
    const expired = await issueCertificate(pki.ca, {
      identity: { role: 'admin', name: 'root' },
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    assert.equal(
      (
        await rawList(
          credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(expired.key), Buffer.from(expired.cert), lenient),
        )
      )?.code,
      status.UNAVAILABLE,
    );
  });

  test("a valid admin certificate works with the same raw client (the refusals above are not the client's fault)", async () => {
    const ok = await issueCertificate(pki.ca, { identity: { role: 'admin', name: 'root' } });
    assert.equal(
      await rawList(
        credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(ok.key), Buffer.from(ok.cert), lenient),
      ),
      null,
    );
  });
});

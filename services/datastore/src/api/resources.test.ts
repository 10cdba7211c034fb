// Every kind through the real API (real nats-server, real gRPC on loopback): create, get, list,
// update, apply, delete; compare-and-set; label selectors and namespaces; Calico's pool rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
} from '../../../shared/errors/index.js';
import type { ResourceObject } from '../../../shared/datastore-client/index.js';
import { FIXTURES, startTestDatastore, type TestDatastore } from '../testing/index.js';

let t: TestDatastore;
before(async () => {
  t = await startTestDatastore();
});
after(async () => {
  await t.stop();
});

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('every kind round-trips', () => {
  for (const fixture of FIXTURES) {
    test(fixture.kind, async () => {
      const c = t.client;
      const ns = 'namespace' in fixture.metadata ? fixture.metadata.namespace : undefined;
      const created = await c.create(fixture);
      assert.equal(created.kind, fixture.kind);
      assert.equal(created.metadata.name, fixture.metadata.name);
      assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const rev1 = Number(created.metadata.resourceVersion);
      assert.ok(rev1 > 0);

      const got = await c.get(fixture.kind, fixture.metadata.name, ns);
      assert.deepEqual(got, created);

      const listed = await c.list(fixture.kind);
      assert.deepEqual(
        listed.items.find((r) => r.metadata.name === fixture.metadata.name),
        created,
      );
      assert.ok(listed.revision >= rev1);

      await assert.rejects(c.create(fixture), AlreadyExistsError);

      const changed = clone(created) as ResourceObject;
      changed.metadata.labels = { ...(changed.metadata.labels ?? {}), touched: 'yes' };
      const updated = await c.update(changed);
      const rev2 = Number(updated.metadata.resourceVersion);
      assert.ok(rev2 > rev1);
      assert.equal(updated.metadata.labels?.touched, 'yes');
      assert.equal(updated.metadata.uid, created.metadata.uid, 'uid survives an update');
      assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);

      // The document still carries rev1: a replace from it must fail (compare-and-set).
      await assert.rejects(c.update(changed), ConflictError);

      const applied = await c.apply(fixture);
      assert.equal(applied.created, false);
      assert.equal(applied.unchanged, false);
      assert.equal(applied.resource.metadata.labels?.touched, undefined);
      assert.ok(Number(applied.resource.metadata.resourceVersion) > rev2);

      // The same document again (and the served one, with its metadata): nothing is written.
      const before = (await c.list(fixture.kind)).revision;
      for (const again of [fixture, applied.resource]) {
        const noop = await c.apply(again);
        assert.equal(noop.unchanged, true);
        assert.deepEqual(noop.resource, applied.resource);
      }
      assert.equal((await c.list(fixture.kind)).revision, before, 'an unchanged apply does not advance the revision');

      const del = await c.delete(fixture.kind, fixture.metadata.name, ns === undefined ? {} : { namespace: ns });
      assert.deepEqual(del.resource, applied.resource);
      assert.ok(del.revision > Number(applied.resource.metadata.resourceVersion));
      await assert.rejects(c.get(fixture.kind, fixture.metadata.name, ns), NotFoundError);
      await assert.rejects(
        c.delete(fixture.kind, fixture.metadata.name, ns === undefined ? {} : { namespace: ns }),
        NotFoundError,
      );

      const recreated = await c.apply(fixture);
      assert.equal(recreated.created, true);
      assert.notEqual(recreated.resource.metadata.uid, created.metadata.uid, 'a re-created resource is a new object');
    });
  }
});

test('kind aliases work for get, list and delete', async () => {
  await t.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'alias-pool' },
    spec: { cidr: '10.99.0.0/16' },
  });
  assert.equal((await t.client.get('ippools', 'alias-pool')).kind, 'IPPool');
  assert.ok((await t.client.list('pool')).items.some((p) => p.metadata.name === 'alias-pool'));
  await t.client.delete('ipp', 'alias-pool');
});

test('update without any revision replaces unconditionally; an explicit revision wins over the document', async () => {
  const pool = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'unconditional' },
    spec: { cidr: '10.98.0.0/16' },
  };
  const first = await t.client.create(pool);
  const second = await t.client.update({ ...pool, spec: { ...pool.spec, natOutgoing: true } });
  assert.ok(Number(second.metadata.resourceVersion) > Number(first.metadata.resourceVersion));
  await assert.rejects(
    t.client.update({ ...first, spec: { ...pool.spec, disabled: true } }, Number(first.metadata.resourceVersion)),
    ConflictError,
  );
  const third = await t.client.update(
    { ...first, spec: { ...pool.spec, disabled: true } },
    Number(second.metadata.resourceVersion),
  );
  assert.equal((third.spec as { disabled: boolean }).disabled, true);
  const profile = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'never-created' },
    spec: {},
  };
  await assert.rejects(t.client.update(profile), NotFoundError);
  await assert.rejects(t.client.apply(profile, 5), NotFoundError);
  await t.client.delete('IPPool', 'unconditional');
});

test('apply of an exported document (with resourceVersion) creates it when absent', async () => {
  const exported = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'exported', resourceVersion: '999999', uid: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa' },
    spec: {},
  };
  const r = await t.client.apply(exported);
  assert.equal(r.created, true);
  assert.notEqual(r.resource.metadata.uid, exported.metadata.uid, 'the server owns metadata.uid');
  await assert.rejects(
    t.client.apply(exported),
    ConflictError,
    'once it exists, the stale resourceVersion is compared',
  );
});

test('concurrent updates with the same stale revision: exactly one wins, the others are ABORTED', async () => {
  const base = await t.client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: 'contended' },
    spec: {},
  });
  const rev = Number(base.metadata.resourceVersion);
  const attempts = 20;
  const results = await Promise.allSettled(
    Array.from({ length: attempts }, (_, i) =>
      t.client.update({ ...base, spec: { labelsToApply: { writer: String(i) } } }, rev),
    ),
  );
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(won.length, 1);
  assert.equal(lost.length, attempts - 1);
  for (const l of lost) assert.ok(l.reason instanceof ConflictError, String(l.reason));
  const final = await t.client.get('Profile', 'contended');
  assert.deepEqual(final, (won[0] as PromiseFulfilledResult<ResourceObject>).value);

  const deletes = await Promise.allSettled(
    [1, 2, 3].map(() => t.client.delete('Profile', 'contended', { revision: Number(final.metadata.resourceVersion) })),
  );
  assert.equal(deletes.filter((d) => d.status === 'fulfilled').length, 1);
});

test('list filters by namespace and label selector', async () => {
  const wep = (name: string, namespace: string, labels: Record<string, string>) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace, labels },
    spec: {
      node: 'n1',
      orchestrator: 'k8s',
      pod: name,
      endpoint: 'eth0',
      interfaceName: 'cali1',
      ipNetworks: ['10.1.0.1/32'],
    },
  });
  await t.client.create(wep('n1-k8s-a-eth0', 'red', { app: 'web', tier: 'front' }));
  await t.client.create(wep('n1-k8s-b-eth0', 'red', { app: 'db' }));
  await t.client.create(wep('n1-k8s-c-eth0', 'blue', { app: 'web', legacy: 'true' }));
  const names = (items: ResourceObject[]) =>
    items
      .map((r) => `${r.metadata.namespace}/${r.metadata.name}`)
      .filter((n) => n.startsWith('red/') || n.startsWith('blue/'));

  const all = await t.client.list('wep');
  assert.deepEqual(names(all.items), ['blue/n1-k8s-c-eth0', 'red/n1-k8s-a-eth0', 'red/n1-k8s-b-eth0']);
  assert.deepEqual(names((await t.client.list('wep', { namespace: 'red' })).items), [
    'red/n1-k8s-a-eth0',
    'red/n1-k8s-b-eth0',
  ]);
  assert.deepEqual(names((await t.client.list('wep', { labelSelector: 'app=web' })).items), [
    'blue/n1-k8s-c-eth0',
    'red/n1-k8s-a-eth0',
  ]);
  assert.deepEqual(names((await t.client.list('wep', { labelSelector: 'app in (web,db),!legacy' })).items), [
    'red/n1-k8s-a-eth0',
    'red/n1-k8s-b-eth0',
  ]);
  assert.deepEqual(names((await t.client.list('wep', { namespace: 'red', labelSelector: 'app!=web' })).items), [
    'red/n1-k8s-b-eth0',
  ]);
  assert.deepEqual((await t.client.list('wep', { namespace: 'nowhere' })).items, []);
  await assert.rejects(
    t.client.list('wep', { labelSelector: 'app in (web' }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'label_selector',
  );

  // Get of a namespaced kind without a namespace looks in "default".
  await t.client.create(wep('n1-k8s-d-eth0', 'default', {}));
  assert.equal((await t.client.get('WorkloadEndpoint', 'n1-k8s-d-eth0')).metadata.namespace, 'default');
  await assert.rejects(t.client.get('WorkloadEndpoint', 'n1-k8s-a-eth0'), NotFoundError);
});

test('IPPools must not overlap, and their cidr and blockSize cannot change', async () => {
  const pool = (name: string, cidr: string, blockSize = 26) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name },
    spec: { cidr, blockSize },
  });
  await t.client.create(pool('p-one', '10.60.0.0/16'));
  await assert.rejects(t.client.create(pool('p-two', '10.60.128.0/17')), (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.equal(e.field, 'spec.cidr');
    assert.match(e.message, /overlaps IPPool 'p-one'/);
    return true;
  });
  await assert.rejects(
    t.client.apply(pool('p-one', '10.61.0.0/16')),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'spec.cidr',
  );
  await assert.rejects(
    t.client.apply(pool('p-one', '10.60.0.0/16', 28)),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'spec.blockSize',
  );
  const concurrent = await Promise.allSettled([
    t.client.create(pool('p-three', '10.62.0.0/16')),
    t.client.create(pool('p-four', '10.62.0.0/24')),
  ]);
  assert.equal(
    concurrent.filter((r) => r.status === 'fulfilled').length,
    1,
    'two overlapping pools created at once: one is refused',
  );
});

// Watch through the real API: exactly the changes after R (deletions included), the in-sync
// marker, snapshots when R is 0 or older than the compacted revision, kind filters, live changes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DatastoreClient, WatchEvent, WatchOptions } from '../../../shared/datastore-client/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { waitFor } from '../../../shared/testing/index.js';
import { startTestDatastore, type TestDatastore } from '../testing/index.js';

let t: TestDatastore;
before(async () => {
  // A retention of 0: whatever compaction finds is old enough (compactions here are forced).
  t = await startTestDatastore({ tombstoneRetention: 0, compactionInterval: 3_600_000 });
});
after(async () => {
  await t.stop();
});

const V3 = 'projectcalico.org/v3';
const profile = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: V3,
  kind: 'Profile',
  metadata: { name, labels },
  spec: {},
});

/** Events of one watch until (and including) the in-sync marker, then `more` further events. */
async function collect(
  client: DatastoreClient,
  options: WatchOptions,
  more = 0,
  during?: () => Promise<void>,
): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  let after = -1;
  for await (const e of client.watch(options)) {
    out.push(e);
    if (e.type === 'in-sync') {
      after = 0;
      if (during) void during();
    } else if (after >= 0) after++;
    if (after === more) break;
  }
  return out;
}

const brief = (events: WatchEvent[]) =>
  events.map((e) => {
    switch (e.type) {
      case 'put':
        return `put ${e.kind}/${e.name}@${e.revision}`;
      case 'delete':
        return `delete ${e.kind}/${e.name}@${e.revision}`;
      case 'snapshot-begin':
        return 'snapshot-begin';
      case 'in-sync':
        return `in-sync@${e.revision}`;
    }
  });

test('watch from R: exactly the changes after R, deletions included, then in-sync, then live changes', async () => {
  const a = await t.client.create(profile('w-a'));
  const r = Number(a.metadata.resourceVersion);
  const b = await t.client.create(profile('w-b'));
  const a2 = await t.client.update(profile('w-a', { v: '2' }));
  const delB = await t.client.delete('Profile', 'w-b');
  const c = await t.client.create(profile('w-c'));
  const rc = Number(c.metadata.resourceVersion);

  const events = await collect(t.client, { revision: r, kinds: ['Profile'] });
  // w-b's creation was superseded by its deletion (the KV keeps the latest message per key).
  assert.deepEqual(brief(events), [
    `put Profile/w-a@${a2.metadata.resourceVersion}`,
    `delete Profile/w-b@${delB.revision}`,
    `put Profile/w-c@${rc}`,
    `in-sync@${rc}`,
  ]);
  const put = events[0] as Extract<WatchEvent, { type: 'put' }>;
  assert.deepEqual(put.resource, a2);
  assert.ok(Number(b.metadata.resourceVersion) > r);

  // From the latest revision: nothing to catch up on, in-sync at once; then live changes arrive.
  const live = await collect(t.client, { revision: rc, kinds: ['profiles'] }, 2, async () => {
    await t.client.create(profile('w-d'));
    await t.client.delete('Profile', 'w-d');
  });
  assert.equal(live.length, 3);
  assert.deepEqual(live[0], { type: 'in-sync', revision: rc, compactedRevision: 0 });
  assert.equal(live[1]!.type, 'put');
  assert.equal(live[2]!.type, 'delete');
  assert.ok((live[2] as { revision: number }).revision > (live[1] as { revision: number }).revision);
});

test('kind filters: one kind, several kinds, every kind', async () => {
  const start = Number((await t.client.create(profile('f-1'))).metadata.resourceVersion);
  await t.client.create({
    apiVersion: V3,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'f-gnp' },
    spec: { selector: 'all()' },
  });
  await t.client.create({
    apiVersion: V3,
    kind: 'BGPPeer',
    metadata: { name: 'f-peer' },
    spec: { peerIP: '10.0.0.1', asNumber: 65000 },
  });
  const kindsOf = (events: WatchEvent[]) =>
    events.filter((e) => e.type === 'put').map((e) => (e as { kind: string }).kind);
  assert.deepEqual(kindsOf(await collect(t.client, { revision: start, kinds: ['gnp'] })), ['GlobalNetworkPolicy']);
  assert.deepEqual(kindsOf(await collect(t.client, { revision: start, kinds: ['BGPPeer', 'gnp'] })), [
    'GlobalNetworkPolicy',
    'BGPPeer',
  ]);
  assert.deepEqual(kindsOf(await collect(t.client, { revision: start })), ['GlobalNetworkPolicy', 'BGPPeer']);
  await assert.rejects(
    collect(t.client, { revision: start, kinds: ['Profile', 'Gadget'] }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'kinds[1]',
  );
});

test('revision 0: a snapshot of the current state (no tombstones), then in-sync', async () => {
  await t.client.create(profile('s-keep'));
  await t.client.create(profile('s-gone'));
  await t.client.delete('Profile', 's-gone');
  const current = (await t.client.list('Profile')).items.map((p) => p.metadata.name);
  const events = await collect(t.client, { kinds: ['Profile'] });
  assert.equal(events[0]!.type, 'snapshot-begin');
  const last = events.at(-1)!;
  assert.equal(last.type, 'in-sync');
  const names = events.filter((e) => e.type === 'put').map((e) => (e as { name: string }).name);
  assert.deepEqual(names.sort(), current.sort());
  assert.ok(!names.includes('s-gone'));
  assert.equal(events.filter((e) => e.type === 'delete').length, 0);
});

test('from a revision older than the compacted revision: snapshot marker, then the current state', async () => {
  const old = Number((await t.client.create(profile('c-1'))).metadata.resourceVersion);
  await t.client.create(profile('c-2'));
  const del = await t.client.delete('Profile', 'c-1');
  const result = await t.datastore.compactNow();
  assert.ok(result.purged >= 1);
  assert.ok(result.compactedRevision >= del.revision);

  const events = await collect(t.client, { revision: old, kinds: ['Profile'] });
  assert.deepEqual(events[0], { type: 'snapshot-begin', compactedRevision: result.compactedRevision });
  const names = events.filter((e) => e.type === 'put').map((e) => (e as { name: string }).name);
  assert.ok(names.includes('c-2'));
  assert.ok(!names.includes('c-1'));
  const inSync = events.at(-1) as Extract<WatchEvent, { type: 'in-sync' }>;
  assert.equal(inSync.type, 'in-sync');
  assert.equal(inSync.compactedRevision, result.compactedRevision);
  assert.ok(inSync.revision >= del.revision);

  // At (or after) the compacted revision, deltas again: nothing was lost after it.
  const after = await collect(t.client, { revision: result.compactedRevision, kinds: ['Profile'] });
  assert.equal(after[0]!.type, 'in-sync');

  // A revision ahead of the store (the store was reset under the client): a snapshot too.
  const ahead = await collect(t.client, { revision: inSync.revision + 1_000_000, kinds: ['Profile'] });
  assert.equal(ahead[0]!.type, 'snapshot-begin');
});

test('a value written after its tombstone survives compaction', async () => {
  await t.client.create(profile('again'));
  await t.client.delete('Profile', 'again');
  const recreated = await t.client.create(profile('again', { round: '2' }));
  await t.datastore.compactNow();
  assert.deepEqual(await t.client.get('Profile', 'again'), recreated);
});

test('a key deleted here whose tombstone was compacted reads as absent and can be created again (not refused as stale)', async () => {
  await t.client.create(profile('gone'));
  await t.client.delete('Profile', 'gone');
  await t.datastore.compactNow();
  // The read floor knows the key at its deletion's revision; absent is that deletion, compacted.
  await assert.rejects(t.client.get('Profile', 'gone'), (err: Error) => err.name === 'NotFoundError');
  const again = await t.client.create(profile('gone', { round: '2' }));
  assert.deepEqual(await t.client.get('Profile', 'gone'), again);
});

test('breaking out of a watch cancels it on the server', async () => {
  for (let i = 0; i < 20; i++) {
    for await (const e of t.client.watch({ kinds: ['Profile'] })) if (e.type === 'in-sync') break;
  }
  const controller = new AbortController();
  const stream = t.client.watch({ kinds: ['Profile'], signal: controller.signal });
  for await (const e of stream) if (e.type === 'in-sync') controller.abort();
  const openStreams = async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${t.datastore.metricsPort}/metrics`)).text();
    const m = /meshless_datastore_watch_streams(?:\{[^}]*\})? (\d+)/.exec(metrics);
    assert.ok(m, metrics);
    return Number(m[1]);
  };
  await waitFor('every watch stream to close on the server', async () => (await openStreams()) === 0);
});

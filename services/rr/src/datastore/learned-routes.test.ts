// LearnedRoutePublisher while its list of what it published before is still on the way (load()
// runs beside BGP, not before it): routes are published at once, leftovers are deleted only
// once the list is in, for the peers whose End-of-RIB came or that were unwatched meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/log/index.js';
import type { DatastoreClient } from '../../../shared/datastore-client/index.js';
import { learnedRouteName } from '../../../shared/resources/index.js';
import { AsPathSegmentType, parsePrefix, type PathAttributes } from '../../../bgp/index.js';
import { Rib } from '../rib/index.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import { LearnedRoutePublisher } from './learned-routes.js';

const ME = 'rr-0';
const SWITCH = '192.0.2.1';
const OTHER = '192.0.2.2';
const attrs: PathAttributes = {
  origin: 0,
  asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65000] }],
  nextHop: SWITCH,
  atomicAggregate: false,
  unknown: [],
  localPref: 100,
};

/** A datastore client whose List of LearnedRoutes answers when the test says so. */
function fakeClient(existing: Array<{ name: string; peer: string }>) {
  let answer!: () => void;
  const listed = new Promise<void>((r) => (answer = r));
  const applied: string[] = [];
  const deleted: string[] = [];
  const client = {
    async list() {
      await listed;
      return {
        items: existing.map((e) => ({
          metadata: { name: e.name },
          spec: { learnedBy: ME, peer: e.peer, prefix: '0.0.0.0/0', nextHop: e.peer, asPath: [], communities: [] },
        })),
      };
    },
    async apply(r: { metadata: { name: string } }) {
      applied.push(r.metadata.name);
      return r;
    },
    async delete(_kind: string, name: string) {
      deleted.push(name);
    },
  } as unknown as DatastoreClient;
  return { client, answer, applied, deleted };
}

function setup(existing: Array<{ name: string; peer: string }>) {
  const rib = new Rib(
    { localAs: 64512, routerId: '10.0.0.1', clusterId: '10.0.0.1', alwaysCompareMed: false },
    new PeerPolicy('iBGP', []),
  );
  const peer = (address: string) =>
    rib.addPeer({
      address,
      kind: 'ebgp',
      asn: 65000,
      routerId: address,
      policy: new PeerPolicy('eBGP', [], { acceptImportByDefault: true }),
    }).idx;
  const fake = fakeClient(existing);
  const publisher = new LearnedRoutePublisher(rib, fake.client, ME, createLogger('learned-routes-test'), {
    flushMs: 1,
  });
  return { rib, peer, publisher, ...fake };
}

test("before the list is in, routes are published and nothing is deleted; after it, the peer's leftovers go", async () => {
  const leftover = learnedRouteName(ME, SWITCH, '198.51.100.0/24');
  const otherPeers = learnedRouteName(ME, OTHER, '203.0.113.0/24');
  const s = setup([
    { name: leftover, peer: SWITCH },
    { name: otherPeers, peer: OTHER },
  ]);
  const sw = s.peer(SWITCH);
  s.peer(OTHER);
  const loading = s.publisher.load();
  s.publisher.watch(sw, SWITCH);
  s.publisher.watch(sw + 1, OTHER);
  const applied = s.rib.applyUpdate(sw, {
    type: 2,
    withdrawn: [],
    attributes: attrs,
    nlri: [parsePrefix('10.9.0.0/16')],
  });
  assert.equal(applied.announced, 1, JSON.stringify(applied));
  s.publisher.reconcilePeer(sw); // End-of-RIB from the switch, before the list answered
  await s.publisher.settled();
  const fresh = learnedRouteName(ME, SWITCH, '10.9.0.0/16');
  assert.deepEqual(s.applied, [fresh], 'the route learned is published without waiting for the list');
  assert.deepEqual(s.deleted, [], 'no leftover can be told apart yet');

  s.answer();
  await loading;
  await s.publisher.settled();
  assert.deepEqual(s.deleted, [leftover], "the switch's leftover goes; the other peer's (no End-of-RIB yet) stays");
  await s.publisher.close();
});

test('a peer unwatched before the list is in loses its leftovers once it is, unless watched again', async () => {
  const gone = learnedRouteName(ME, SWITCH, '198.51.100.0/24');
  const back = learnedRouteName(ME, OTHER, '203.0.113.0/24');
  const s = setup([
    { name: gone, peer: SWITCH },
    { name: back, peer: OTHER },
  ]);
  const sw = s.peer(SWITCH);
  const other = s.peer(OTHER);
  const loading = s.publisher.load();
  s.publisher.watch(sw, SWITCH);
  s.publisher.watch(other, OTHER);
  s.publisher.unwatch(sw);
  s.publisher.unwatch(other);
  s.publisher.watch(other, OTHER); // its session's End-of-RIB will reconcile it
  s.answer();
  await loading;
  await s.publisher.settled();
  assert.deepEqual(s.deleted, [gone]);
  await s.publisher.close();
});

test('when the list fails, nothing published before is deleted', async () => {
  const s = setup([{ name: learnedRouteName(ME, SWITCH, '198.51.100.0/24'), peer: SWITCH }]);
  (s.client as unknown as { list: () => Promise<never> }).list = async () => {
    throw new Error('datastore unavailable');
  };
  const sw = s.peer(SWITCH);
  s.publisher.watch(sw, SWITCH);
  await assert.rejects(s.publisher.load(), /datastore unavailable/);
  s.publisher.reconcilePeer(sw);
  s.publisher.unwatch(sw);
  await s.publisher.settled();
  assert.deepEqual(s.deleted, []);
  await s.publisher.close();
});

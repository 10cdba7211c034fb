// The sync server's KV reader (KvSource, on the shared cursor) against real nats-servers: a cold
// start under concurrent overwrites is caught up only once every key written before it started
// has arrived at or after that write's revision (nats-server 2.9's pending count says 0 before
// that; the old push-consumer reader ended its catch-up on it), and the follower on a 3-node R3
// bucket, through kill -9s of the stream leader, applies every acknowledged write and never hands
// on a change below one it already handed on.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '../../../shared/log/index.js';
import {
  startNatsCluster,
  startNatsServer,
  waitFor,
  waitForReplicas,
  type NatsClusterHandle,
  type NatsServerHandle,
} from '../../../shared/testing/index.js';
import { RESOURCES_BUCKET, resourceKey } from '../../../shared/nats/index.js';
import { Cache, type Change, type RawChange } from './cache.js';
import { DatastoreFollower } from './follower.js';
import { KvSource } from './kv-source.js';

const log = createLogger('kv-source-test');
const te = new TextEncoder();
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** Writes keys name(0)..name(keys-1) round-robin until stopped, recording each key's acked revision. */
function startWriter(kv: KV, keys: number, acked: Map<string, number>, name = (i: number) => `k.${i}`) {
  let stop = false;
  let writes = 0;
  const done = (async () => {
    while (!stop) {
      const key = name((writes * 7) % keys);
      try {
        acked.set(key, await kv.put(key, te.encode(`${key}#${writes}`)));
        writes++;
      } catch {
        await new Promise((r) => setTimeout(r, 50)); // leader election: retried until a leader answers
      }
    }
  })();
  return {
    get writes() {
      return writes;
    },
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** A KvSource recording the highest revision delivered per key, and whether it caught up. */
function follow(nc: NatsConnection, bucket: string, onCaughtUp?: (seen: Map<string, number>) => void) {
  const seen = new Map<string, number>();
  const state = { caughtUp: false, ended: undefined as unknown };
  const source = new KvSource({
    nc,
    bucket,
    after: 0,
    log,
    onBatch(changes: RawChange[], caughtUp: boolean) {
      for (const c of changes) seen.set(c.key, Math.max(seen.get(c.key) ?? 0, c.revision));
      if (caughtUp && !state.caughtUp) {
        state.caughtUp = true;
        onCaughtUp?.(seen);
      }
    },
    onEnded(err) {
      state.ended = err ?? 'ended';
    },
  });
  return { source, seen, state };
}

/** Keys whose acknowledged revision is above what was delivered (`key@acked (delivered)`). */
function behind(acked: ReadonlyMap<string, number>, seen: ReadonlyMap<string, number>): string[] {
  return [...acked]
    .filter(([k, r]) => (seen.get(k) ?? -1) < r)
    .map(([k, r]) => `${k}@${r} (delivered: ${seen.get(k) ?? 'none'})`);
}

test('a cold start under concurrent overwrites is caught up only with every key written before it', async () => {
  const server: NatsServerHandle = await startNatsServer({});
  cleanups.push(() => server.stop());
  const nc = await connect({ servers: server.url });
  cleanups.push(() => nc.close());
  const kv = await new Kvm(nc).create('source-test', { history: 1 });
  const acked = new Map<string, number>();
  for (let i = 0; i < 300; i++) acked.set(`k.${i}`, await kv.put(`k.${i}`, te.encode(`k.${i}`)));
  // Writers on their own connections, so their acks do not queue behind the source's deliveries.
  const writers: Array<ReturnType<typeof startWriter>> = [];
  for (let w = 0; w < 3; w++) {
    const wc = await connect({ servers: server.url });
    cleanups.push(() => wc.close());
    const wkv = await new Kvm(wc).open('source-test');
    writers.push(startWriter(wkv, 300, acked, (i) => `k.${(i + w * 100) % 300}`));
  }
  const writer = {
    get writes() {
      return writers.reduce((n, w) => n + w.writes, 0);
    },
    stop: () => Promise.all(writers.map((w) => w.stop())),
  };
  try {
    for (let i = 0; i < 15; i++) {
      const before = new Map(acked);
      let short: string[] | undefined;
      const f = follow(nc, 'source-test', (seen) => (short = behind(before, seen)));
      await f.source.start();
      await waitFor(`start ${i} caught up`, () => f.state.caughtUp || f.state.ended !== undefined, 30_000, 20);
      await f.source.stop();
      assert.equal(f.state.ended, undefined, `start ${i}: the source ended`);
      assert.deepEqual(short, [], `start ${i}: caught up without these keys`);
    }
  } finally {
    await writer.stop();
  }
  assert.ok(writer.writes > 0, 'the writer wrote while the sources started');
});

test('a follower on an R3 bucket, through kill -9s of the stream leader, never goes back and ends with every acknowledged write', async () => {
  const cluster: NatsClusterHandle = await startNatsCluster(3);
  cleanups.push(() => cluster.stop());
  const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  cleanups.push(() => nc.close());
  let kv!: KV;
  await waitFor(
    'JetStream cluster ready',
    async () => {
      kv = await new Kvm(nc).create(RESOURCES_BUCKET, { history: 1, replicas: 3 });
      return true;
    },
    30_000,
    250,
  );
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  await waitForReplicas(jsm, `KV_${RESOURCES_BUCKET}`, 3, 30_000);
  const name = (i: number) => resourceKey('Profile', '', `p-${i}`);
  const acked = new Map<string, number>();
  for (let i = 0; i < 100; i++) acked.set(name(i), await kv.put(name(i), te.encode('{}')));
  const writer = startWriter(kv, 100, acked, name);
  const cache = new Cache();
  const noop = () => undefined;
  // What the follower hands on to clients must only go forward: a change below one already served
  // would come from a leader that lacks what an earlier one served (shared/nats read-floor.ts).
  let served = 0;
  const backwards: string[] = [];
  const changes = (batch: Change[]) => {
    for (const c of batch) {
      if (c.entry.revision <= served) backwards.push(`${c.entry.key}@${c.entry.revision} after ${served}`);
      served = Math.max(served, c.entry.revision);
    }
  };
  // The sync server's own path: the follower re-watches from its revision when the reader ends.
  const follower = new DatastoreFollower(
    { nc, cache, horizonPollMs: 1000, log, address: () => 'test' },
    { changes, advanced: noop, readiness: noop, corrected: noop },
  );
  cleanups.push(() => follower.stop());
  const inCache = () => new Map([...acked.keys()].map((k) => [k, cache.get(k)?.revision ?? -1]));
  try {
    follower.start();
    await waitFor('caught up', () => follower.caughtUp, 30_000, 20);
    for (let kill = 0; kill < 2; kill++) {
      const leader = (await jsm.streams.info(`KV_${RESOURCES_BUCKET}`)).cluster?.leader ?? '';
      const victim = cluster.members[Number(leader.slice(1))]!;
      await victim.kill('SIGKILL');
      const before = writer.writes;
      await waitFor('writes after the kill', () => writer.writes > before + 100, 60_000, 50);
      await victim.start();
      const resumed = writer.writes;
      await waitFor('writes after the restart', () => writer.writes > resumed + 100, 60_000, 50);
    }
  } finally {
    await writer.stop();
  }
  await waitFor(
    'every acknowledged write in the cache',
    () => behind(acked, inCache()).length === 0,
    30_000,
    100,
  ).catch(() => assert.deepEqual(behind(acked, inCache()), [], 'acknowledged writes the follower never applied'));
  assert.deepEqual(backwards, [], 'changes served below a revision already served');
  assert.ok(follower.floor.stream >= Math.max(...acked.values()), 'the floor follows what was read');
});

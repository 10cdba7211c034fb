// The datastore on a real 3-node JetStream cluster: buckets created at 1 replica (an install from
// before the cluster grew) are scaled to 3 on start; killing (-9) the stream leader, then another
// member, under a continuous writer loses no acknowledged write, never answers INTERNAL, and a read
// right after each acknowledged write sees it. The longest pause between acknowledgements is printed
// (loadtest/RESULTS.md records it); the test asserts no wall-clock figure.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { UnavailableError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { META_BUCKET, RESOURCES_BUCKET } from '../../../shared/nats/index.js';
import {
  runEvery,
  startNatsCluster,
  waitFor,
  waitForReplicas,
  type NatsClusterHandle,
} from '../../../shared/testing/index.js';
import { runDatastore, type DatastoreHandle } from '../run.js';
import { testConfig } from '../testing/index.js';

let cluster: NatsClusterHandle;
let datastore: DatastoreHandle;
let client: DatastoreClient;

before(async () => {
  cluster = await startNatsCluster(3);
  // An old install: both buckets at 1 replica.
  const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1 });
  const kvm = new Kvm(nc);
  await waitFor(
    'JetStream cluster ready',
    async () => {
      await kvm.create(RESOURCES_BUCKET, { history: 1, replicas: 1 });
      await kvm.create(META_BUCKET, { history: 1, replicas: 1 });
      return true;
    },
    30_000,
    250,
  );
  await nc.close();
  datastore = await runDatastore(testConfig(cluster.urls), createLogger('replication-test'));
  client = createDatastoreClient(datastore.address);
});

after(async () => {
  await runEvery('teardown', [() => client?.close(), () => datastore?.close(), () => cluster?.stop()]);
});

async function streamLeader(): Promise<number> {
  const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1 });
  try {
    // No account check: it needs the meta leader, which a member restarted 3 s earlier can still
    // be electing (a run at load 38 failed here with a timeout); the waitFor below retries.
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    let leader = '';
    await waitFor(
      'a stream leader',
      async () => {
        leader = (await jsm.streams.info(`KV_${RESOURCES_BUCKET}`)).cluster?.leader ?? '';
        return leader !== '';
      },
      30_000,
      200,
    );
    return Number(leader.slice(1));
  } finally {
    await nc.close();
  }
}

/** Waits until every member holds a current copy of both buckets' streams. */
async function everyReplicaCurrent(): Promise<void> {
  const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1 });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    for (const bucket of [RESOURCES_BUCKET, META_BUCKET]) await waitForReplicas(jsm, `KV_${bucket}`, 3, 60_000);
  } finally {
    await nc.close();
  }
}

/**
 * Milliseconds from `since` until the stream reports a leader other than `old`: the server's own
 * election, which the writer's pause is compared with. Polled every 50 ms on its own connection
 * with a 500 ms request timeout (stream info is answered only once there is a leader).
 */
async function newLeaderSeen(old: string, since: number): Promise<number> {
  const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 500, checkAPI: false });
    for (;;) {
      const leader = await jsm.streams.info(`KV_${RESOURCES_BUCKET}`).then(
        (i) => i.cluster?.leader ?? '',
        () => '',
      );
      if (leader !== '' && leader !== old) return Date.now() - since;
      if (Date.now() - since > 60_000) return -1;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await nc.close();
  }
}

/**
 * What each member's store says about these acknowledged writes: the stream leader is asked (a
 * message get is answered by the leader only), then made to step down, until every member has
 * led once. Diagnostics for a failure: names each member's last sequence and the keys it holds at
 * another revision than acknowledged.
 */
interface MemberCopy {
  readonly member: string;
  readonly lastSeq: number;
  readonly messages: number;
  /** The given writes this member holds at another revision than acknowledged, or not at all. */
  readonly differ: string[];
}

/** Proven: two members at one last sequence hold different message counts, or one lacks writes another holds as acknowledged. */
function diverged(copies: readonly MemberCopy[]): boolean {
  return copies.some((a) =>
    copies.some(
      (b) => (a.lastSeq === b.lastSeq && a.messages !== b.messages) || (a.differ.length > 0 && b.differ.length === 0),
    ),
  );
}

const describeCopies = (copies: readonly MemberCopy[], of: number) =>
  copies
    .map(
      (c) =>
        `${c.member} (last seq ${c.lastSeq}, ${c.messages} messages): ${c.differ.length} of ${of} differ${c.differ.length ? ` (${c.differ.slice(0, 8).join('; ')})` : ''}`,
    )
    .join(' | ');

async function perMember(writes: Array<[string, number]>): Promise<MemberCopy[]> {
  const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1 });
  const stream = `KV_${RESOURCES_BUCKET}`;
  const report = new Map<string, MemberCopy>();
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    for (let i = 0; i < 8 && report.size < 3; i++) {
      const info = await jsm.streams.info(stream).catch(() => undefined);
      const leader = info?.cluster?.leader ?? '';
      if (leader !== '' && !report.has(leader)) {
        const off: string[] = [];
        for (const [name, rev] of writes) {
          const m = await jsm.streams
            .getMessage(stream, { last_by_subj: `$KV.${RESOURCES_BUCKET}.profiles._.${name}` })
            .catch(() => null);
          if (m?.seq !== rev) off.push(`${name}: acked ${rev}, here ${m?.seq ?? 'missing'}`);
        }
        report.set(leader, {
          member: leader,
          lastSeq: info!.state.last_seq,
          messages: info!.state.messages,
          differ: off,
        });
      }
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2000 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500));
    }
  } finally {
    await nc.close();
  }
  return [...report.values()];
}

test('existing 1-replica buckets are scaled to 3 on start', async () => {
  const nc = await connect({ servers: cluster.urls.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    for (const bucket of [RESOURCES_BUCKET, META_BUCKET]) {
      await waitFor(
        `${bucket} at 3 replicas`,
        async () => {
          const info = await jsm.streams.info(`KV_${bucket}`);
          return info.config.num_replicas === 3 && (info.cluster?.replicas?.length ?? 0) === 2;
        },
        30_000,
        250,
      );
    }
  } finally {
    await nc.close();
  }
});

// A Get right after an acknowledged write must see it even when the stream leader just changed: a
// new leader answers before applying the writes its predecessor acknowledged, and members restarted
// after kill -9 were seen holding different messages under the same sequence numbers (nats-server
// 2.9.10; shared/nats read-floor.ts). The datastore refuses answers below what it acknowledged or read and asks
// again, logging each refusal ('stale answer refused') with the member that answered. So clients
// never get a stale answer (asserted); when the final List or a read is refused for good, or writes
// are lost, the test reads every member's copy (perMember) and, only when they provably diverged,
// reports it as a TODO against the server instead of failing.
test('killing the stream leader, a follower, then stopping the leader: nothing lost, no INTERNAL, no stale read', async (t) => {
  const acked = new Map<string, number>();
  const errors = new Map<string, number>();
  let staleReads = 0;
  let refusedReads = 0;
  let stop = false;
  let lastAck = Date.now();
  let worstGapMs = 0;
  let n = 0;
  const writer = (async () => {
    while (!stop) {
      const name = `chaos-${n++}`;
      try {
        const r = await client.create({
          apiVersion: 'projectcalico.org/v3',
          kind: 'Profile',
          metadata: { name },
          spec: { labelsToApply: { n: String(n) } },
        });
        const revision = Number(r.metadata.resourceVersion);
        acked.set(name, revision);
        const now = Date.now();
        worstGapMs = Math.max(worstGapMs, now - lastAck);
        lastAck = now;
        const back = await client.get('Profile', name).catch((err: unknown) => {
          console.log(`read of ${name} (acked at ${revision}) failed: ${String(err)}`);
          // Refused for good (every answer below the write): unavailable, not stale.
          if (err instanceof UnavailableError) return 'refused' as const;
          return undefined;
        });
        if (back === 'refused') refusedReads++;
        else if (!back || Number(back.metadata.resourceVersion) < revision) staleReads++;
      } catch (err) {
        const kind = err instanceof UnavailableError ? 'UNAVAILABLE' : (err as Error).name;
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
        if (err instanceof UnavailableError) await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 100));
      }
    }
  })();
  const rounds: Array<{ killed: string; gapMs: number; electionMs: number }> = [];
  // MESHLESS_LEADER_KILLS (default 1) stream-leader kill -9 rounds before the others: a stress run.
  const leaderKills = Math.max(1, Number(process.env.MESHLESS_LEADER_KILLS ?? 1));
  const picks = [
    ...Array.from(
      { length: leaderKills },
      () => ({ what: 'stream leader, kill -9', leader: true, signal: 'SIGKILL' }) as const,
    ),
    { what: 'follower, kill -9', leader: false, signal: 'SIGKILL' },
    { what: 'stream leader, SIGTERM', leader: true, signal: 'SIGTERM' },
  ] as const;
  for (const pick of picks) {
    await waitFor('writes flowing', () => acked.size > 20 + rounds.length * 50, 30_000);
    const leader = await streamLeader();
    const victim = pick.leader ? leader : (leader + 1) % 3;
    worstGapMs = 0;
    const killedAt = Date.now();
    await cluster.members[victim]!.kill(pick.signal);
    const electionMs = pick.leader ? await newLeaderSeen(`n${victim}`, killedAt) : 0;
    const before = acked.size;
    await waitFor('writes after the kill', () => acked.size > before + 50, 60_000);
    rounds.push({ killed: `n${victim} (${pick.what})`, gapMs: worstGapMs, electionMs });
    await cluster.members[victim]!.start();
    // The restarted member caught up before the next round, so each round takes one member: a
    // fixed pause (3 s) was not always enough under load, and the next kill then took a second.
    await everyReplicaCurrent();
  }
  stop = true;
  await writer;
  const listed = await client.list('Profile').catch((err: unknown) => err as Error);
  const stored =
    listed instanceof Error
      ? new Map<string, number>()
      : new Map(listed.items.map((i) => [i.metadata.name, Number(i.metadata.resourceVersion)]));
  const lost = listed instanceof Error ? [] : [...acked].filter(([name, rev]) => stored.get(name) !== rev);
  // A List refused for good, lost writes or refused reads: what does each member hold?
  let copies: MemberCopy[] = [];
  const trouble = listed instanceof Error || lost.length > 0 || refusedReads > 0;
  if (trouble) {
    const writes = lost.length > 0 ? lost : [...acked].slice(-500);
    copies = await perMember(writes);
    console.log(
      `${listed instanceof Error ? `final List refused: ${listed.message}; ` : ''}members: ${describeCopies(copies, writes.length)}`,
    );
  }
  console.log(
    `replication: ${acked.size} acknowledged writes, ${lost.length} lost, ${staleReads} stale reads, ${refusedReads} reads refused, errors ${JSON.stringify(Object.fromEntries(errors))}; ` +
      rounds
        .map(
          (r) =>
            `killed ${r.killed}: longest pause between acks ${r.gapMs} ms${r.electionMs ? ` (a new stream leader seen ${r.electionMs} ms after the kill)` : ''}`,
        )
        .join('; '),
  );
  if (lost.length > 0)
    console.log(
      'lost (name, acked revision, stored revision):',
      lost.map(([name, rev]) => `${name}@${rev}->${stored.get(name) ?? 'missing'}`).join(' '),
    );
  // Clients never see a stale answer and never anything but UNAVAILABLE, whatever the members hold.
  assert.equal(staleReads, 0, 'stale reads served');
  for (const kind of errors.keys())
    assert.equal(kind, 'UNAVAILABLE', `only UNAVAILABLE may reach clients, saw ${kind}`);
  // Members holding different messages under the same sequence numbers (nats-server 2.9.10 after
  // kill -9 restarts, shared/nats read-floor.ts): the datastore refuses what it can tell is stale, but a write
  // acknowledged by one member can be absent from the others, and no client can restore it.
  if (trouble && diverged(copies)) {
    t.todo(`nats-server 2.9.10: replicas diverged (${describeCopies(copies, lost.length || acked.size)})`);
    return;
  }
  assert.ok(!(listed instanceof Error), `the final List failed: ${String(listed)}`);
  assert.deepEqual(lost, []);
  assert.equal(refusedReads, 0, 'reads refused for good without a diverged member');
});

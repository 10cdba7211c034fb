// The cursor's caught-up mark against a real nats-server under concurrent overwrites. nats-server
// 2.9's per-message pending count says 0 before a last-per-subject read is done when a key is
// overwritten meanwhile (on the old cursor every scan of this test lacked keys), so the mark rests
// on the leader's "next message after the last one read" instead (see kv-cursor.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../testing/index.js';
import { openCursor, scan, type CaughtUp, type RawEntry } from './kv-cursor.js';
import { ReadFloor } from './read-floor.js';

const KEYS = 300;
let server: NatsServerHandle;
let nc: NatsConnection;
let kv: KV;
let js: JetStreamClient;
let jsm: JetStreamManager;
const te = new TextEncoder();
const td = new TextDecoder();

/** Reads a cursor in the background, recording what it yields. */
function reader(
  floor: ReadFloor,
  options: { mode: 'after'; revision: number } | { mode: 'last-per-subject' },
  filter: string,
) {
  const items: Array<RawEntry | CaughtUp> = [];
  const ac = new AbortController();
  const done = (async () => {
    for await (const item of openCursor(js, jsm, 'cursor-test', { filter, ...options, floor, signal: ac.signal }))
      items.push(item);
  })();
  return { items, stop: () => (ac.abort(), done) };
}

const until = async (what: string, ok: () => boolean) => {
  for (const end = Date.now() + 20_000; !ok(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

before(async () => {
  server = await startNatsServer({});
  nc = await connect({ servers: server.url });
  kv = await new Kvm(nc).create('cursor-test', { history: 1 });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

test('a scan under concurrent overwrites has every key, each at or after its revision when the scan began', async () => {
  const acked = new Map<string, number>();
  for (let i = 0; i < KEYS; i++) acked.set(`k.${i}`, await kv.put(`k.${i}`, te.encode(`k.${i}`)));
  let stop = false;
  let writes = 0;
  const writer = (async () => {
    while (!stop) {
      const key = `k.${(writes++ * 7) % KEYS}`;
      acked.set(key, await kv.put(key, te.encode(key)));
    }
  })();
  try {
    for (let i = 0; i < 20; i++) {
      const before = new Map(acked);
      const { entries, revision } = await scan(js, jsm, 'cursor-test', '>');
      const got = new Map(entries.map((e) => [e.key, e]));
      assert.equal(got.size, entries.length, `scan ${i}: a key listed twice`);
      for (const e of entries) {
        assert.equal(td.decode(e.value), e.key, `scan ${i}: ${e.key}@${e.revision} carries another key's value`);
        assert.ok(e.revision <= revision, `scan ${i}: ${e.key}@${e.revision} is past the scan's revision ${revision}`);
      }
      const missing = [...before]
        .filter(([k, r]) => (got.get(k)?.revision ?? -1) < r)
        .map(([k, r]) => `${k}@${r} (listed: ${got.get(k)?.revision ?? 'missing'})`);
      assert.deepEqual(missing, [], `scan ${i} at revision ${revision}`);
    }
  } finally {
    stop = true;
    await writer;
  }
  assert.ok(writes > 0, 'the writer wrote while scanning');
});

test('a cursor after a revision with nothing after it is caught up at once, then follows changes', async () => {
  const head = await kv.put('other.a', te.encode('a'));
  const seen: string[] = [];
  const ac = new AbortController();
  for await (const item of openCursor(js, jsm, 'cursor-test', {
    filter: 'fresh.>',
    mode: 'after',
    revision: head,
    signal: ac.signal,
  })) {
    if (item.type === 'caught-up') {
      assert.ok(item.revision >= head);
      seen.push('caught-up');
      await kv.put('fresh.x', te.encode('fresh.x'));
    } else {
      seen.push(item.key);
      ac.abort();
    }
  }
  assert.deepEqual(seen, ['caught-up', 'fresh.x']);
});

// A floor stands for what this process read from another (diverged or more advanced) member:
// nats-server 2.9.10 members were seen at different positions and with different messages under
// one sequence (read-floor.ts). On one server the leader is "behind" by the floor's construction.
test('a cursor with a floor above the leader gives no mark and no entry until the leader reaches it', async () => {
  const head = await kv.put('floor.a', te.encode('floor.a'));
  const floor = new ReadFloor();
  floor.noteStream(head + 3); // this process has read up to head + 3 elsewhere
  const r = reader(floor, { mode: 'after', revision: head }, 'floor.>');
  try {
    await until('a refusal', () => floor.refused > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(r.items.length, 0, 'the cursor answered from a leader below its floor');
    for (const k of ['floor.b', 'floor.c', 'floor.d']) await kv.put(k, te.encode(k));
    await until('the mark', () => r.items.some((i) => i.type === 'caught-up'));
    const mark = r.items.find((i) => i.type === 'caught-up')!;
    assert.ok(mark.revision >= head + 3, `caught up at ${mark.revision}, below the floor ${head + 3}`);
  } finally {
    await r.stop();
  }
});

test('a leader without the newest value read, or with another message under its revision, is refused', async () => {
  const rev = await kv.put('div.x', te.encode('div.x'));
  const floor = new ReadFloor();
  // Read elsewhere: div.x at this revision, but stored at another time (another member's message).
  floor.noteNewest({ key: 'div.x', revision: rev, storedAtMicros: 1_000_000, live: true });
  const r = reader(floor, { mode: 'last-per-subject' }, 'div.>');
  try {
    await until('a refusal', () => floor.refused > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(r.items.length, 0, 'the cursor read a diverged copy');
    // A later version of the key supersedes the message in question: the leader is good again.
    const later = await kv.put('div.x', te.encode('div.x'));
    await until('the mark', () => r.items.some((i) => i.type === 'caught-up'));
    assert.ok(r.items.some((i) => i.type === 'entry' && i.key === 'div.x' && i.revision === later));
  } finally {
    await r.stop();
  }
  // A leader that holds the key only below the newest revision read is refused too.
  const a = await kv.put('div.y', te.encode('div.y'));
  const b = await kv.put('div.z', te.encode('div.z'));
  const low = new ReadFloor();
  low.noteNewest({ key: 'div.y', revision: b, storedAtMicros: Date.now() * 1000, live: true });
  const r2 = reader(low, { mode: 'last-per-subject' }, 'div.>');
  try {
    await until('a refusal', () => low.refused > 0);
    assert.equal(r2.items.length, 0, `div.y is held at ${a}, below ${b}`);
  } finally {
    await r2.stop();
  }
  // But a value read, then deleted and its tombstone compacted away (absent now), is no refusal.
  await kv.delete('div.z');
  await jsm.streams.purge('KV_cursor-test', { filter: '$KV.cursor-test.div.z' });
  const gone = new ReadFloor();
  gone.noteNewest({ key: 'div.z', revision: b, storedAtMicros: Date.now() * 1000, live: true });
  const r3 = reader(gone, { mode: 'last-per-subject' }, 'div.>');
  try {
    await until('the mark', () => r3.items.some((i) => i.type === 'caught-up'));
    assert.equal(gone.refused, 0);
  } finally {
    await r3.stop();
  }
});

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
import { openCursor, scan } from './kv-cursor.js';

const KEYS = 300;
let server: NatsServerHandle;
let nc: NatsConnection;
let kv: KV;
let js: JetStreamClient;
let jsm: JetStreamManager;
const te = new TextEncoder();
const td = new TextDecoder();

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

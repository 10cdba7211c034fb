import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../nats/index.js';
import { startNatsServer } from './index.js';

test('a real nats-server with JetStream keeps KV data across a hard restart', async () => {
  const server = await startNatsServer();
  try {
    let nc = await connectNats(server.url, 'test');
    const kv = await new Kvm(nc).create('t', { history: 1 });
    const rev = await kv.put('a.b', 'hello');
    assert.ok(rev > 0);
    await nc.close();
    await server.restart(true);
    nc = await connectNats(server.url, 'test');
    const again = await new Kvm(nc).open('t');
    assert.equal((await again.get('a.b'))?.string(), 'hello');
    assert.ok((await jetstreamManager(nc)).streams !== undefined);
    await nc.close();
  } finally {
    await server.stop();
  }
});

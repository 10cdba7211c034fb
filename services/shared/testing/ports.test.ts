// freePort's port is bound later, often by another process: it must not come from the range the
// kernel gives outgoing connections, where any connection made meanwhile can take it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ephemeralPorts, freePort } from './ports.js';

test('freePort draws below the ephemeral range, and the port can be bound', async () => {
  const { low } = ephemeralPorts();
  const ports = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    assert.ok(port >= 10_000 && port < low, `${port} is not in 10000-${low - 1}`);
    ports.add(port);
  }
  assert.ok(ports.size > 1, 'drawn at random, not one port for everyone');
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
});

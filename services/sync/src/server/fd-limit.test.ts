import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { waitFor } from '../../../shared/testing/index.js';
import { ConnectionLedger, connectionCap, openFileLimit, RESERVED_FDS, socketRoom } from './fd-limit.js';

const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            ${soft}                20000                files     
`;

describe('the open-file limit caps maxConnections', () => {
  it('reads the soft limit', () => {
    assert.equal(openFileLimit(limits('20000')), 20000);
    assert.equal(openFileLimit(limits('unlimited')), undefined);
    assert.equal(openFileLimit('garbage'), undefined);
    const own = openFileLimit();
    assert.ok(own === undefined || own > 0);
  });

  it('keeps maxConnections when the limit allows it, caps it (with a warning) when not', () => {
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as Parameters<
      typeof connectionCap
    >[2];
    assert.equal(connectionCap(10_000, 65_536, log), 10_000);
    assert.equal(connectionCap(10_000, undefined, log), 10_000);
    assert.deepEqual(warnings, []);
    assert.equal(connectionCap(20_000, 20_000, log), 20_000 - RESERVED_FDS);
    assert.match(
      warnings[0]!,
      /maxConnections 20000 exceeds what the open-file limit \(20000\) allows; accepting 19744 streams/,
    );
    assert.equal(connectionCap(5, 100, log), 1);
  });

  it('counts the limit of each worker process: 20,000 streams fit two workers under a limit of 20,000', () => {
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as Parameters<
      typeof connectionCap
    >[2];
    assert.equal(connectionCap(20_000, 20_000, log, 2), 20_000);
    assert.deepEqual(warnings, []);
    assert.equal(connectionCap(50_000, 20_000, log, 2), 2 * (20_000 - RESERVED_FDS));
    assert.match(warnings[0]!, /\(20000 per process, 2 worker processes\) allows; accepting 39488 streams/);
  });
});

describe('the socket ledger (idle standby sessions against the open-file room)', () => {
  it('takes its room from the open-file limit, and refuses a room below 1', () => {
    assert.equal(socketRoom(1000), 1000 - RESERVED_FDS);
    assert.equal(socketRoom(100), 1);
    assert.equal(socketRoom(undefined), Infinity);
    assert.throws(() => new ConnectionLedger(0), /room must be at least 1, got 0/);
    assert.throws(() => new ConnectionLedger(Number.NaN), /room must be at least 1, got NaN/);
  });

  it('closes the longest-idle socket for a new one, never one that carries a call, then refuses', async () => {
    const ledger = new ConnectionLedger(2);
    const accepted: Socket[] = [];
    const server = createServer((s) => {
      if (ledger.admit(s)) accepted.push(s);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const clients: Socket[] = [];
    const open = async () => {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => undefined);
      clients.push(c);
      await once(c, 'connect');
      return c;
    };
    try {
      const [first, second] = [await open(), await open()];
      await waitFor('two sockets admitted', () => ledger.stats().open === 2);
      // The second one carries a call (the server saw it from its peer address).
      ledger.called(`127.0.0.1:${second.localPort}`);
      const firstClosed = once(first, 'close');
      await open();
      await firstClosed;
      assert.deepEqual(ledger.stats(), { open: 2, idle: 1, evicted: 1, refused: 0 });
      ledger.called(`127.0.0.1:${clients[2]!.localPort}`);
      const fourth = await open();
      await once(fourth, 'close');
      assert.deepEqual(ledger.stats(), { open: 2, idle: 0, evicted: 1, refused: 1 });
      assert.equal(second.destroyed, false);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  });
});

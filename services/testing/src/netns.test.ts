// The namespace transport hands sockets made in the namespace to the test process. Whatever the
// peer sends the moment it accepts (a BGP speaker's OPEN) must reach the test process, for plain
// and for TCP-MD5 connections alike.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo, Socket } from 'node:net';
import { setListenerKey } from '../../bgp/index.js';
import { createNetns, netnsSkipReason } from './netns.js';

function firstBytes(socket: Socket, n: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: only ${JSON.stringify(text)} arrived within 10 s`));
    }, 10_000);
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.length >= n) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
  });
}

describe('network namespace transport', { skip: netnsSkipReason() }, () => {
  test('bytes the peer sends as soon as it accepts reach the connecting process (plain and TCP-MD5)', async () => {
    const ns = await createNetns('nstr');
    try {
      const [server, client] = [await ns.addAddress(), await ns.addAddress()];
      const transport = await ns.transport();
      const listener = await transport.listen({ host: server, port: 0 });
      const port = (listener.address() as AddressInfo).port;
      const greeting = 'OPEN-FROM-THE-PEER';
      listener.on('connection', (s: Socket) => s.end(greeting));
      setListenerKey(listener, client, Buffer.from('ns-secret'));
      try {
        // The loss was a race (the broker process read the first segment before handing the socket
        // over): twenty connections each way make it show every time it exists.
        for (let i = 0; i < 20; i++) {
          for (const security of [{ md5Key: Buffer.from('ns-secret') }, undefined]) {
            if (!security) setListenerKey(listener, client, undefined);
            const socket = await transport.connect({
              host: server,
              port,
              localAddress: client,
              timeoutMs: 5000,
              ...(security ? { security } : {}),
            });
            const what = `connection ${i} ${security ? 'with' : 'without'} TCP-MD5`;
            assert.equal(await firstBytes(socket, greeting.length, what), greeting, what);
            if (!security) setListenerKey(listener, client, Buffer.from('ns-secret'));
          }
        }
      } finally {
        listener.close();
      }
    } finally {
      await ns.destroy();
    }
  });
});

// The namespace transport hands sockets made in the namespace to the test process. Whatever the
// peer sends the moment it accepts (a BGP speaker's OPEN) must reach the test process, for plain
// and for TCP-MD5 connections alike.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../shared/testing/index.js';
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

describe('namespaces of a killed test process', { skip: netnsSkipReason() }, () => {
  // Each "test process" is a child running createNetns: the first is SIGKILLed (no exit handler
  // runs), the second stays alive, the third starts afterwards and must reap the first's only.
  const netnsModule = fileURLToPath(new URL('./netns.ts', import.meta.url));
  const startProcess = (prefix: string, count: number, then: 'wait' | 'exit') => {
    const script = `const { createNetns } = await import(${JSON.stringify(netnsModule)});
for (let i = 0; i < ${count}; i++) console.log((await createNetns(${JSON.stringify(prefix)})).name);
console.log('created');
${then === 'wait' ? 'setInterval(() => undefined, 1000);' : ''}`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const names = async () => {
      await waitFor(`${prefix} namespaces created`, () => out.includes('created') || child.exitCode !== null, 60_000);
      return out.split('\n').filter((l) => l.startsWith(prefix));
    };
    return { child, exited, names };
  };
  const listed = () =>
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]!);

  test('are deleted by the next process that creates one; a live process keeps its own', async () => {
    const killed = startProcess('reapdead', 2, 'wait');
    const alive = startProcess('reaplive', 1, 'wait');
    const leftover: string[] = [];
    try {
      const dead = await killed.names();
      const kept = await alive.names();
      leftover.push(...dead, ...kept);
      assert.equal(dead.length, 2);
      assert.equal(kept.length, 1);
      killed.child.kill('SIGKILL');
      await killed.exited;
      assert.deepEqual(
        dead.filter((n) => listed().includes(n)),
        dead,
        'a killed process leaves its namespaces',
      );
      const next = startProcess('reapnext', 1, 'exit');
      await next.exited;
      leftover.push(...(await next.names()));
      assert.deepEqual(
        dead.filter((n) => listed().includes(n)),
        [],
        "the next process deleted the dead one's",
      );
      assert.deepEqual(
        kept.filter((n) => listed().includes(n)),
        kept,
        "the live process's namespace is untouched",
      );
    } finally {
      killed.child.kill('SIGKILL');
      alive.child.kill('SIGKILL');
      await Promise.all([killed.exited, alive.exited]);
      for (const n of leftover.filter((n) => listed().includes(n))) execFileSync('ip', ['netns', 'delete', n]);
    }
  });

  test('a prefix that is not letters and digits is refused, naming it', async () => {
    await assert.rejects(createNetns('bad-prefix'), /createNetns: prefix 'bad-prefix' must be letters and digits/);
  });
});

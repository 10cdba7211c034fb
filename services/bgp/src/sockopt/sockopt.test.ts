// The native socket-option addon on real sockets over loopback (no root needed). It must be
// built and up to date: these tests fail, never skip, when it is not (infra/install.sh builds it).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectSecured, prepareListener, secureAccepted, setListenerKey, sockoptAddon } from './index.js';

const NATIVE_DIR = fileURLToPath(new URL('../../native', import.meta.url));

async function listen(
  host: string,
  onConnection: (s: Socket) => void = (s) => s.end('hello'),
): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function read(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

async function refused(p: Promise<Socket>): Promise<string> {
  try {
    const s = await p;
    s.destroy();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'no code';
  }
  assert.fail('connected');
}

describe('native socket-option addon', () => {
  test('is built from the current source (make -q finds nothing to do) and loads', () => {
    const loaded = sockoptAddon();
    assert.ok('addon' in loaded, 'reason' in loaded ? loaded.reason : '');
    // make -q exits 1 when sockopt.c changed since the last build: run bash infra/install.sh.
    execFileSync('make', ['-q', '-C', NATIVE_DIR], { stdio: 'pipe' });
  });

  test('TCP-MD5 on IPv4 and IPv6 listeners: the right key connects, a wrong key or none does not', async () => {
    for (const [listenOn, from] of [
      ['127.4.0.1', '127.4.0.1'],
      ['::1', '::1'],
      ['::', '127.4.0.2'], // a v4 peer keyed on a dual-stack listener (v4-mapped)
    ] as const) {
      const { server, port } = await listen(listenOn);
      const host = listenOn === '::' ? '127.4.0.2' : listenOn;
      try {
        setListenerKey(server, from, Buffer.from('right'));
        const s = await connectSecured({
          host,
          port,
          localAddress: from,
          timeoutMs: 5000,
          security: { md5Key: Buffer.from('right') },
        });
        assert.equal(await read(s), 'hello', `${listenOn}: signed connection`);
        assert.equal(
          await refused(
            connectSecured({
              host,
              port,
              localAddress: from,
              timeoutMs: 800,
              security: { md5Key: Buffer.from('wrong') },
            }),
          ),
          'ETIMEDOUT',
        );
        assert.equal(
          await refused(
            connectSecured({ host, port, localAddress: from, timeoutMs: 800, security: { ttlSecurity: 1 } }),
          ),
          'ETIMEDOUT',
          'unsigned',
        );
        // Removing the key lets unsigned connections in again.
        setListenerKey(server, from, undefined);
        const plain = await connectSecured({
          host,
          port,
          localAddress: from,
          timeoutMs: 5000,
          security: { ttlSecurity: 255 },
        });
        assert.equal(await read(plain), 'hello');
      } finally {
        server.close();
      }
    }
  });

  test('GTSM: the saved SYN tells the TTL it came with; our SYNs and SYN-ACKs go out with 255', async () => {
    const ttls: number[] = [];
    const { server, port } = await listen('127.4.0.3', (s) => {
      ttls.push(secureAccepted(s, 1));
      s.end('hi');
    });
    try {
      prepareListener(server);
      const s = await connectSecured({ host: '127.4.0.3', port, timeoutMs: 5000, security: { ttlSecurity: 1 } });
      assert.equal(await read(s), 'hi', 'the listener answered with TTL 255, our minimum');
      assert.deepEqual(ttls, [255]);
    } finally {
      server.close();
    }
  });

  test('GTSM: a listener answering with the default TTL (64) is below our minimum: no connection', async () => {
    const { server, port } = await listen('127.4.0.4');
    try {
      assert.equal(
        await refused(connectSecured({ host: '127.4.0.4', port, timeoutMs: 800, security: { ttlSecurity: 1 } })),
        'ETIMEDOUT',
      );
      const ok = await connectSecured({ host: '127.4.0.4', port, timeoutMs: 5000, security: { ttlSecurity: 192 } });
      assert.equal(await read(ok), 'hello', 'TTL 64 is enough for 192 hops (minimum 64)');
    } finally {
      server.close();
    }
  });

  test('errors carry the OS code and the option that failed', async () => {
    const { server, port } = await listen('127.4.0.5');
    try {
      // The kernel's RST for a closed port has TTL 64: a minimum of 255 would drop it too.
      assert.equal(
        await refused(
          connectSecured({
            host: '127.4.0.5',
            port: port === 65535 ? 1 : port + 1,
            timeoutMs: 5000,
            security: { ttlSecurity: 192 },
          }),
        ),
        'ECONNREFUSED',
      );
      assert.throws(
        () => setListenerKey(server, '::1', Buffer.from('k')),
        (e: NodeJS.ErrnoException) => e.code === 'EAFNOSUPPORT' && /TCP_MD5SIG/.test(e.message),
      );
      assert.throws(
        () => setListenerKey(server, 'not-an-address', Buffer.from('k')),
        (e: NodeJS.ErrnoException) => e.code === 'EINVAL',
      );
      assert.equal(
        await refused(
          connectSecured({
            host: '127.4.0.5',
            port,
            localAddress: '192.0.2.1',
            timeoutMs: 5000,
            security: { ttlSecurity: 1 },
          }),
        ),
        'EADDRNOTAVAIL',
      );
      const addon = sockoptAddon();
      assert.ok('addon' in addon);
      assert.throws(
        () => addon.addon.setTtl(-1, 255, 0),
        (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.message.startsWith('getsockname'),
      );
      assert.throws(
        () => addon.addon.connect({ host: '127.0.0.1', port: 0, timeoutMs: 10 }, () => undefined),
        /port must be 1\.\.65535/,
      );
    } finally {
      server.close();
    }
  });
});

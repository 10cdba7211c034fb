import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { RAW_SYNC_SERVICE } from '../../services/sync/testing.js';
import { LeanSession } from './lean-h2.js';

const PATH = RAW_SYNC_SERVICE.sync!.path;
const WINDOW = 4 * 1024 * 1024;

/** A gRPC message: flag 0, length, body. */
function grpcFrame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Splits a byte stream of gRPC messages into their bodies. */
function grpcBodies(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = bytes.readUInt32BE(at + 1);
    out.push(bytes.subarray(at + 5, at + 5 + n));
    at += 5 + n;
  }
  return out;
}

test('a grpc-js server accepts the lean request and streams more than the window through it', {
  timeout: 60_000,
}, async (t) => {
  // 48 messages of 128 KiB: 6 MiB, past the 4 MiB window, so the client must return credit.
  const message = (i: number) => Buffer.alloc(128 * 1024, i);
  const server = new Server();
  const hellos: Buffer[] = [];
  server.addService(RAW_SYNC_SERVICE, {
    sync: (call: ServerDuplexStream<Buffer, Buffer>) => {
      call.once('data', (hello: Buffer) => {
        hellos.push(hello);
        for (let i = 0; i < 48; i++) call.write(message(i));
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  const session = new LeanSession(connect({ host: '127.0.0.1', port, noDelay: true }), {
    authority: `127.0.0.1:${port}`,
    tls: false,
    windowBytes: WINDOW,
  });
  t.after(() => session.destroy());
  const settings = once(session, 'remoteSettings');
  const stream = session.request(PATH, grpcFrame(Buffer.from('hello')));
  const pieces: Buffer[] = [];
  stream.on('data', (p: Buffer) => pieces.push(Buffer.from(p)));
  await settings;
  await once(stream, 'close');
  assert.deepEqual(hellos.map(String), ['hello']);
  const bodies = grpcBodies(Buffer.concat(pieces));
  assert.equal(bodies.length, 48);
  bodies.forEach((b, i) => assert.ok(b.equals(message(i)), `message ${i} arrived intact`));
});

/** A raw TCP peer that writes FRAMES one byte at a time (every header and payload split). */
async function rawPeer(t: { after(fn: () => void): void }, frames: Buffer) {
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined);
    let i = 0;
    const drip = () => {
      if (i >= frames.length || s.destroyed) return;
      s.write(frames.subarray(i, i + 1));
      i++;
      setImmediate(drip);
    };
    drip();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const session = new LeanSession(connect({ host: '127.0.0.1', port }), {
    authority: `127.0.0.1:${port}`,
    tls: false,
    windowBytes: WINDOW,
  });
  t.after(() => session.destroy());
  return session;
}

function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

test('DATA split across reads and padded DATA reach the stream without their padding; trailers end it', async (t) => {
  const padded = Buffer.concat([Buffer.of(3), Buffer.from('def'), Buffer.alloc(3, 0xee)]);
  const frames = Buffer.concat([
    h2Frame(4, 0, 0, Buffer.alloc(0)), // SETTINGS
    h2Frame(1, 0x4, 1, Buffer.of(0x88)), // HEADERS :status 200
    h2Frame(0, 0, 1, Buffer.from('abc')),
    h2Frame(0, 0x8, 1, padded), // DATA, PADDED: pad length 3
    h2Frame(0, 0, 3, Buffer.from('other stream')),
    h2Frame(1, 0x1 | 0x4, 1, Buffer.of(0x88)), // trailers: END_STREAM | END_HEADERS
  ]);
  const session = await rawPeer(t, frames);
  const stream = session.request(PATH);
  let got = '';
  stream.on('data', (p: Buffer) => (got += p.toString('latin1')));
  await once(stream, 'close');
  assert.equal(got, 'abcdef');
});

test('a malformed SETTINGS frame is a session error, not a crash', async (t) => {
  const session = await rawPeer(t, h2Frame(4, 0, 0, Buffer.alloc(5)));
  session.request(PATH);
  const [err] = await once(session, 'error');
  assert.match((err as Error).message, /SETTINGS length not a multiple of 6/);
  await once(session, 'close');
  assert.equal(session.destroyed, true);
});

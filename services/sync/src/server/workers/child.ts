// A sync server's worker process (`workers` > 1, see pool.ts): serves the gRPC streams of the
// connections the main process hands it, and writes what the main process decides: resume or
// snapshot frames per stream, the encoded deltas of each change (one copy per worker, written to
// every live stream here), ping rounds. It holds no cache and no datastore connection. Its
// metrics are replayed on the main process's /metrics; it logs to the same stdout.
//
// Lifetime: it exits when the main process closes the channel (the main process died or closed
// it), so a worker never outlives its server.
import { Socket } from 'node:net';
import { ServerCredentials, status, type ConnectionInjector } from '@grpc/grpc-js';
import { createLogger } from '../../../../shared/log/index.js';
import { serverSecurity, type Caller } from '../../../../shared/tls/index.js';
import type { ClientStream } from '../client-stream.js';
import { deltaTask, fromWire } from '../deltas.js';
import type { HostMetrics } from '../stream-host.js';
import { StreamHost } from '../stream-host.js';
import { ConnectionLedger, openFileLimit, socketRoom } from '../fd-limit.js';
import { MessagePipe } from './pipe.js';
import type { Batch, ChildInit, FromChild, ToChild } from './protocol.js';

// fd 4: the pipe to the main process (pool.ts); fd 3 is Node's IPC channel.
let apply: (m: ToChild) => void = () => undefined;
const channel = new Socket({ fd: 4, readable: true, writable: true });
channel.on('close', () => process.exit(0));
const pipe = new MessagePipe<Batch<ToChild>, Batch<FromChild>>(channel, (msg) => {
  for (const m of msg.batch) apply(m);
});

const out: FromChild[] = [];
let flushing = false;
function post(m: FromChild): void {
  out.push(m);
  if (!flushing) {
    flushing = true;
    setImmediate(() => {
      flushing = false;
      const batch = out.splice(0);
      if (batch.length > 0) pipe.send({ batch });
    });
  }
}

/** Metric calls, sent to the main process every 250 ms. */
function relayMetrics(): HostMetrics {
  let calls: Array<[string, ...unknown[]]> = [];
  setInterval(() => {
    if (calls.length === 0) return;
    post({ t: 'metrics', calls });
    calls = [];
  }, 250).unref();
  const record =
    (name: string) =>
    (...args: unknown[]) =>
      void calls.push([name, ...args]);
  return {
    rejected: record('rejected'),
    fanoutDuration: record('fanoutDuration'),
    clientLag: record('clientLag'),
    pingLatency: record('pingLatency'),
  } as HostMetrics;
}

async function start(init: ChildInit): Promise<void> {
  const log = createLogger('sync', { serverId: init.host.serverId, worker: init.worker });
  const security = init.tls ? await serverSecurity('sync', init.tls, log) : undefined;
  // Each worker holds its streams' sockets (the main process closes its copies): its own room.
  const ledger = new ConnectionLedger(init.maxSockets ?? socketRoom(openFileLimit()), log);
  const forwarded = new Set<ClientStream>();
  const streams = new Map<number, ClientStream>();
  const host: StreamHost = new StreamHost(
    init.host,
    relayMetrics(),
    {
      hello: (stream, hello, caller: Caller) => {
        forwarded.add(stream);
        streams.set(stream.id, stream);
        post({ t: 'hello', id: stream.id, hello, caller });
      },
      closed: (stream) => {
        host.index.remove(stream);
        streams.delete(stream.id);
        if (forwarded.delete(stream)) post({ t: 'closed', id: stream.id, reason: stream.closeReason ?? 'client' });
      },
    },
    (call) => {
      ledger.called(call.getPeer());
      return security?.caller(call) ?? { kind: 'insecure' };
    },
  );
  const injector: ConnectionInjector = host.grpc.createConnectionInjector(
    security?.credentials ?? ServerCredentials.createInsecure(),
  );
  const frames = new Map<number, Buffer>();
  let closedSockets = 0;

  apply = (m: ToChild): void => {
    switch (m.t) {
      case 'frame':
        // A copy: the received bytes are a view into the whole batch's buffer.
        frames.set(m.ref, Buffer.from(m.b));
        return;
      case 'forget':
        for (const r of m.refs) frames.delete(r);
        return;
      case 'send':
        streams.get(m.id)?.send(frames.get(m.ref)!, m.rev, m.commit, m.grace);
        return;
      case 'accept': {
        const s = streams.get(m.id);
        if (!s) return;
        s.accept();
        // After the rest of this batch (the ServerHello and what follows it) was written.
        setImmediate(() => host.settled(s));
        return;
      }
      case 'live': {
        const s = streams.get(m.id);
        if (!s || s.phase === 'closed') return;
        s.goLive();
        host.index.goLive(s);
        return;
      }
      case 'end':
        streams.get(m.id)?.end(m.reason);
        return;
      case 'fail':
        streams.get(m.id)?.fail(m.code as status, m.details, m.reason);
        return;
      case 'deltas':
        host.fanout.push(
          deltaTask(fromWire(m.w), host.index, (updates, messages, n) =>
            post({ t: 'done', task: m.task, updates, messages, streams: n }),
          ),
        );
        return;
      case 'ping':
        host.pingRound(Buffer.from(m.f.buffer, m.f.byteOffset, m.f.byteLength), m.id, m.revision, m.slice, m.slices);
        return;
      case 'close':
        host.closing = true;
        host.failAll(m.details);
        void host.shutdown(() => injector.destroy()).then(() => process.disconnect());
        return;
    }
  };

  process.on('message', (msg: { t: 'socket' }, handle?: Socket) => {
    if (msg.t === 'socket' && handle) {
      handle.setNoDelay(true);
      handle.on('close', () => {
        closedSockets++;
        if (closedSockets === 1)
          setTimeout(() => {
            post({ t: 'sockets-closed', count: closedSockets });
            closedSockets = 0;
          }, 100).unref();
      });
      // After the close handler: a refused socket is counted closed towards the main process too.
      if (ledger.admit(handle)) injector.injectConnection(handle);
    }
  });
  post({ t: 'ready' });
}

process.once('message', (m: ChildInit) => {
  if (m.t !== 'init') throw new Error(`sync worker: expected init, got ${String((m as { t?: unknown }).t)}`);
  start(m).catch((err: unknown) => {
    process.stderr.write(`sync worker ${m.worker}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
});
// The main process is gone (or closed us): nothing left to serve.
process.on('disconnect', () => process.exit(0));

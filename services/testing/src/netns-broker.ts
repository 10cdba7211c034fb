// Runs inside a network namespace (started by netns.ts with `ip netns exec NS node ...`) and
// creates sockets there on behalf of its parent: each listening server or connected socket is
// passed over the IPC channel (SCM_RIGHTS), so the parent process uses it as if it lived in the
// namespace. Requests: {id, op:'listen', host, port} | {id, op:'connect', host, port,
// localAddress?, timeoutMs, md5Key? (hex), ttlSecurity?}; replies: {id, ok:true, port?} with the
// handle, or {id, ok:false, error, code}. A connection with a TCP-MD5 key or GTSM is made by the
// native addon here, in the namespace, so its options are set before the SYN as in the parent.
import { connect, createServer, Socket } from 'node:net';
import { connectSecuredDescriptor } from '../../bgp/index.js';

interface Request {
  id: number;
  op: 'listen' | 'connect';
  host: string;
  port: number;
  localAddress?: string;
  timeoutMs?: number;
  md5Key?: string;
  ttlSecurity?: number;
}

const send = process.send?.bind(process);
if (!send) throw new Error('netns-broker must be started with an IPC channel');

function fail(id: number, err: NodeJS.ErrnoException): void {
  send!({ id, ok: false, error: err.message, code: err.code ?? 'EUNKNOWN' });
}

process.on('message', (raw: unknown) => {
  const req = raw as Request;
  if (req.op === 'listen') {
    const server = createServer({ noDelay: true });
    server.once('error', (err) => fail(req.id, err));
    server.listen({ host: req.host, port: req.port, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : req.port;
      // The parent accepts from now on; this process's copy of the descriptor is closed.
      send({ id: req.id, ok: true, port }, server, () => server.close());
    });
  } else if (req.op === 'connect' && (req.md5Key !== undefined || req.ttlSecurity !== undefined)) {
    connectSecuredDescriptor({
      host: req.host,
      port: req.port,
      ...(req.localAddress ? { localAddress: req.localAddress } : {}),
      timeoutMs: req.timeoutMs ?? 5000,
      security: {
        ...(req.md5Key !== undefined ? { md5Key: Buffer.from(req.md5Key, 'hex') } : {}),
        ...(req.ttlSecurity !== undefined ? { ttlSecurity: req.ttlSecurity } : {}),
      },
    }).then(
      (fd: number) => {
        // Not readable here: a readable socket made from a descriptor starts reading at once
        // (pause() does not stop it), so the peer's first bytes, its OPEN, would be read in this
        // process and lost; the parent then saw the peer's KEEPALIVE first and failed the session
        // with an FSM error. The parent makes its own readable socket from the handle.
        send({ id: req.id, ok: true }, new Socket({ fd, readable: false, writable: true }));
      },
      (err: NodeJS.ErrnoException) => fail(req.id, err),
    );
  } else if (req.op === 'connect') {
    const socket = connect({
      host: req.host,
      port: req.port,
      noDelay: true,
      ...(req.localAddress ? { localAddress: req.localAddress } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      send({ id: req.id, ok: false, error: `connect to ${req.host}:${req.port} timed out`, code: 'ETIMEDOUT' });
    }, req.timeoutMs ?? 5000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      fail(req.id, err);
    });
    // Pausing inside the 'connect' handler keeps Node from starting to read (it only issues the
    // first read when the socket is not paused), so no byte the peer sends right away (its OPEN)
    // is consumed here even if the IPC send of the handle is queued behind another one.
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.pause();
      socket.removeAllListeners('error');
      send({ id: req.id, ok: true }, socket);
    });
  }
});
process.on('disconnect', () => process.exit(0));

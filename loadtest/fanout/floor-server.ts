// The physical floor of the fan-out benchmark: one Node process writing the same bytes to N plain
// TCP sockets (no HTTP/2, no gRPC framing, no protobuf), received by the same load generator.
// Each frame carries the change number and the time the write loop started.
import { createServer, type Socket } from 'node:net';
import { now } from './proc.js';
import type { ToFloor } from './messages.js';

const frameBytes = Number(process.argv[2] ?? 512);
const sockets: Socket[] = [];
const server = createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => undefined);
  sockets.push(s);
  process.send!({ type: 'connections', count: sockets.length });
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  const a = server.address();
  process.send!({ type: 'listening', port: typeof a === 'object' && a ? a.port : 0 });
});
process.on('message', (m: ToFloor) => {
  if (m.type === 'stop') {
    for (const s of sockets) s.destroy();
    server.close();
    setTimeout(() => process.exit(0), 50);
    return;
  }
  const frame = Buffer.alloc(frameBytes, 0x61);
  const t0 = m.t0 ?? now();
  frame.writeUInt32BE(m.change, 0);
  frame.writeUInt32BE(0, 4);
  frame.writeDoubleBE(t0, 8);
  for (const s of sockets) s.write(frame);
  process.send!({ type: 'sent', change: m.change, writeMs: now() - t0 });
});

// A message channel over a plain pipe: [u32 length][v8.serialize(message)] frames. Frames and
// decisions travel here, not on Node's IPC channel, because Node holds every IPC message behind a
// handle until the other side acknowledges it: with a connection handed over per accept, a busy
// worker's acknowledgements would gate every change and snapshot sent to it (pool.ts).
import type { Duplex } from 'node:stream';
import { deserialize, serialize } from 'node:v8';

export class MessagePipe<In, Out> {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly stream: Duplex,
    onMessage: (m: In) => void,
  ) {
    stream.on('data', (d: Buffer) => {
      this.pending.push(d);
      this.pendingBytes += d.length;
      while (this.pendingBytes >= 4) {
        let head = this.pending[0]!;
        if (head.length < 4) head = this.pending[0] = Buffer.concat(this.pending.splice(0));
        const size = head.readUInt32BE(0) + 4;
        if (this.pendingBytes < size) break;
        const all = this.pending.length === 1 ? head : Buffer.concat(this.pending, this.pendingBytes);
        const message = deserialize(all.subarray(4, size)) as In;
        const rest = all.subarray(size);
        this.pending = rest.length > 0 ? [rest] : [];
        this.pendingBytes = rest.length;
        onMessage(message);
      }
    });
    stream.on('error', () => undefined);
  }

  send(m: Out): void {
    if (this.stream.destroyed) return;
    const body = serialize(m);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length, 0);
    this.stream.write(head);
    this.stream.write(body);
  }
}

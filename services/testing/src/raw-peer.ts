// A hand-driven BGP endpoint for malformed-input tests: a plain TCP socket that writes whatever
// bytes the test gives it and reads back whole messages with the codec's FrameReader. It knows
// just enough to complete an OPEN exchange; everything after that is up to the test.
import { connect, type Socket } from 'node:net';
import {
  Afi,
  BASELINE_CODEC_OPTIONS,
  FrameReader,
  MessageType,
  Safi,
  decodeNotification,
  encodeMessage,
  myAsField,
  type Capability,
  type Frame,
  type NotificationMessage,
} from '../../bgp/index.js';

/** marker + length + type + body: any bytes, valid or not. */
export function rawMessage(
  type: number,
  body: Uint8Array | readonly number[],
  options: { length?: number; marker?: number } = {},
): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const out = new Uint8Array(19 + b.length);
  out.fill(options.marker ?? 0xff, 0, 16);
  const length = options.length ?? out.length;
  out[16] = (length >> 8) & 0xff;
  out[17] = length & 0xff;
  out[18] = type;
  out.set(b, 19);
  return out;
}

export interface RawOpen {
  asn: number;
  bgpId: string;
  holdTime?: number;
  version?: number;
  capabilities?: Capability[];
}

/** An OPEN with IPv4 unicast and 4-octet AS capabilities unless told otherwise; `version` may be wrong on purpose. */
export function rawOpen(o: RawOpen): Uint8Array {
  const bytes = encodeMessage(
    {
      type: MessageType.Open,
      version: 4,
      myAs: myAsField(o.asn),
      holdTime: o.holdTime ?? 90,
      bgpId: o.bgpId,
      capabilities: o.capabilities ?? [
        { kind: 'MultiProtocol', afi: Afi.Ipv4, safi: Safi.Unicast },
        { kind: 'FourOctetAs', asn: o.asn },
      ],
    },
    BASELINE_CODEC_OPTIONS,
  );
  if (o.version !== undefined) bytes[19] = o.version;
  return bytes;
}

export class RawPeer {
  private readonly reader = new FrameReader({ extendedMessage: true });
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
        for (let f = this.reader.next(); f; f = this.reader.next()) this.frames.push(f);
      } catch {
        this.ended = true;
      }
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, localAddress: string, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new RawPeer(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.ended && this.frames.length === 0;
  }

  send(bytes: Uint8Array | readonly Uint8Array[]): void {
    if (bytes instanceof Uint8Array) this.socket.write(bytes);
    else for (const b of bytes) this.socket.write(b);
  }

  /** The next message, or undefined once the connection closed with nothing more to read. */
  async next(timeoutMs = 10_000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.frames.shift();
  }

  /** Skips KEEPALIVEs (and UPDATEs) until a NOTIFICATION, then waits for the close. */
  async expectNotification(timeoutMs = 10_000): Promise<NotificationMessage> {
    for (;;) {
      const f = await this.next(timeoutMs);
      if (!f) throw new Error('connection closed without a NOTIFICATION');
      if (f.type === MessageType.Notification) {
        const n = decodeNotification(f.body);
        await this.waitClosed(timeoutMs);
        return n;
      }
      if (f.type !== MessageType.Keepalive && f.type !== MessageType.Update && f.type !== MessageType.Open) {
        throw new Error(`expected a NOTIFICATION, got message type ${f.type}`);
      }
    }
  }

  /** Resolves when the other side closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`connection still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Sends our OPEN, expects the speaker's OPEN and KEEPALIVE, answers KEEPALIVE: Established. */
  async handshake(open: RawOpen): Promise<void> {
    this.send(rawOpen(open));
    const o = await this.next();
    if (o?.type !== MessageType.Open) throw new Error(`expected OPEN, got ${o ? `type ${o.type}` : 'close'}`);
    const k = await this.next();
    if (k?.type !== MessageType.Keepalive) throw new Error(`expected KEEPALIVE, got ${k ? `type ${k.type}` : 'close'}`);
    this.send(rawMessage(MessageType.Keepalive, []));
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

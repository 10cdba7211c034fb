import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BgpMessageError,
  encodeMessage,
  FrameReader,
  KEEPALIVE,
  MessageType,
  type BgpMessage,
  type CodecOptions,
} from './index.js';

const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: true, addPath: [] };
const notification = (n: number): BgpMessage => ({
  type: MessageType.Notification,
  code: 6,
  subcode: 2,
  data: new Uint8Array(n).fill(7),
});

describe('FrameReader', () => {
  it('returns whole messages inside one chunk as views of that chunk (no copy)', () => {
    const chunk = Buffer.concat([encodeMessage(KEEPALIVE, OPTS), encodeMessage(notification(10), OPTS)]);
    const r = new FrameReader();
    r.push(chunk);
    const a = r.next()!;
    const b = r.next()!;
    assert.equal(r.next(), undefined);
    assert.equal(a.type, MessageType.Keepalive);
    assert.equal(b.type, MessageType.Notification);
    assert.equal(a.message.buffer, chunk.buffer);
    assert.equal(b.message.buffer, chunk.buffer);
    assert.equal(b.message.byteOffset, chunk.byteOffset + 19);
    assert.equal(b.body.length, 12);
    assert.equal(r.buffered, 0);
  });

  it('copies a message split across chunks once, and only that one', () => {
    const one = encodeMessage(notification(100), OPTS);
    const two = encodeMessage(KEEPALIVE, OPTS);
    const stream = Buffer.concat([one, two]);
    const r = new FrameReader();
    r.push(stream.subarray(0, 50));
    assert.equal(r.next(), undefined);
    const second = stream.subarray(50);
    r.push(second);
    const a = r.next()!;
    assert.notEqual(a.message.buffer, second.buffer);
    assert.deepEqual(Buffer.from(a.message), Buffer.from(one));
    const b = r.next()!;
    assert.equal(b.message.buffer, second.buffer);
    assert.equal(b.type, MessageType.Keepalive);
  });

  it('handles a header split over three chunks', () => {
    const m = encodeMessage(notification(5), OPTS);
    const r = new FrameReader();
    r.push(m.subarray(0, 7));
    r.push(m.subarray(7, 17));
    assert.equal(r.next(), undefined);
    r.push(m.subarray(17));
    assert.deepEqual(Buffer.from(r.next()!.message), Buffer.from(m));
  });

  it('rejects a bad header as soon as its 19 octets arrive, before any body', () => {
    const r = new FrameReader();
    const header = Buffer.alloc(19, 0xff);
    header.writeUInt16BE(5000, 16);
    header[18] = MessageType.Update;
    assert.throws(
      () => r.push(header),
      (e: unknown) => e instanceof BgpMessageError && e.code === 1 && e.subcode === 2,
    );
    assert.throws(() => r.next(), BgpMessageError);
    assert.throws(() => r.push(Buffer.alloc(1)), BgpMessageError);
  });

  it('accepts 65535-octet messages only once extended messages are enabled', () => {
    const big = encodeMessage(notification(4000), OPTS);
    const huge = Buffer.alloc(60000, 0xff);
    huge.writeUInt16BE(60000, 16);
    huge[18] = MessageType.Update;
    assert.throws(() => new FrameReader().push(huge.subarray(0, 19)), BgpMessageError);
    const r = new FrameReader();
    r.push(big);
    assert.equal(r.next()!.message.length, big.length);
    r.setExtendedMessage(true);
    r.push(huge.subarray(0, 30000));
    assert.equal(r.next(), undefined);
    r.push(huge.subarray(30000));
    assert.equal(r.next()!.message.length, 60000);
  });
});

describe('FrameReader ordering', () => {
  it('delivers a complete message that arrives before a corrupt header, then fails', () => {
    const n = encodeMessage(notification(3), OPTS);
    const garbage = Buffer.alloc(19, 0);
    const r = new FrameReader();
    // Both in one chunk: push sees a valid first header; the corrupt one surfaces on the next call.
    r.push(Buffer.concat([n, garbage]));
    assert.equal(r.next()!.type, MessageType.Notification);
    assert.throws(
      () => r.next(),
      (e: unknown) => e instanceof BgpMessageError && e.subcode === 1,
    );
  });
});

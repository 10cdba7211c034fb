// Malformed input from raw sockets: every bad header, OPEN and UPDATE gets the NOTIFICATION of
// RFC 4271 §6 or the RFC 7606 treatment the codec classifies, the speaker keeps running, and a
// healthy peer's session stays Established throughout (no flap).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { MessageType, prefixToString, type UpdateMessage } from '../codec/index.js';
import {
  RawPeer,
  rawMessage,
  rawOpen,
  announce,
  originAttributes,
  waitForPeerState,
  poll,
} from '../../../testing/index.js';
import { BgpSpeaker, type UpdateEvent } from './index.js';

const LOCAL_AS = 65000;
// Our own corner of 127/8, away from other suites' loopback addresses.
const HOST = '127.3.0.1';
const RAW_AS = 65100;
const ORIGIN = [0x40, 1, 1, 0];
const AS_PATH = [0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x4c]; // AS_SEQUENCE [65100], 4-octet ASNs
const MED = (v: number): number[] => [0x80, 4, 4, 0, 0, 0, v];
const NLRI = [24, 10, 9, 0]; // 10.9.0.0/24

function nextHop(address: string): number[] {
  return [0x40, 3, 4, ...address.split('.').map(Number)];
}

function updateBody({
  withdrawn = [],
  attrs = [],
  nlri = [],
}: {
  withdrawn?: number[];
  attrs?: number[];
  nlri?: number[];
}): number[] {
  return [
    withdrawn.length >> 8,
    withdrawn.length & 255,
    ...withdrawn,
    attrs.length >> 8,
    attrs.length & 255,
    ...attrs,
    ...nlri,
  ];
}

describe('malformed input against the speaker', () => {
  let speaker: BgpSpeaker;
  let healthy: BgpSpeaker;
  let port: number;
  let nextAddress = 10;
  const updates: UpdateEvent[] = [];

  /** A new passive peer on its own loopback address; returns the address. */
  const newPeer = (): string => {
    const address = `127.3.0.${nextAddress++}`;
    speaker.addPeer({
      address,
      remoteAs: RAW_AS,
      passive: true,
      idleHold: { min: 0, max: 0 },
      families: ['ipv4-unicast'],
    });
    return address;
  };
  const established = async (address: string): Promise<RawPeer> => {
    const raw = await RawPeer.connect(port, address, HOST);
    await raw.handshake({ asn: RAW_AS, bgpId: address });
    await waitForPeerState(speaker, address, 'Established', 5000);
    return raw;
  };
  const updatesFrom = (address: string): UpdateEvent[] => updates.filter((u) => u.peer === address);
  const prefixes = (u: UpdateMessage, field: 'nlri' | 'withdrawn'): string[] => u[field].map(prefixToString);

  before(async () => {
    speaker = new BgpSpeaker({ localAs: LOCAL_AS, routerId: '10.0.0.1', listen: { address: HOST, port: 0 } });
    speaker.on('update', (u) => updates.push(u));
    speaker.addPeer({ address: '127.3.0.2', remoteAs: 65002, passive: true, holdTime: 3, families: ['ipv4-unicast'] });
    await speaker.start();
    port = speaker.listenPort!;
    healthy = new BgpSpeaker({ localAs: 65002, routerId: '10.0.0.2', listen: false });
    healthy.addPeer({
      address: '127.3.0.1',
      port,
      localAddress: '127.3.0.2',
      remoteAs: LOCAL_AS,
      holdTime: 3,
      families: ['ipv4-unicast'],
    });
    await healthy.start();
    await waitForPeerState(speaker, '127.3.0.2', 'Established');
    await waitForPeerState(healthy, HOST, 'Established');
    await announce(healthy, '127.3.0.1', ['10.2.0.0/24'], originAttributes(65002, { nextHop: '127.3.0.2' }));
  });

  after(async () => {
    await healthy?.close();
    await speaker?.close();
  });

  const headerCases: [string, (address: string) => Uint8Array, number, number, number[] | undefined][] = [
    ['bad marker', () => rawMessage(MessageType.Keepalive, [], { marker: 0 }), 1, 1, undefined],
    [
      'length below the header size (truncated header)',
      () => rawMessage(MessageType.Keepalive, [], { length: 18 }),
      1,
      2,
      [0, 18],
    ],
    ['KEEPALIVE longer than 19', () => rawMessage(MessageType.Keepalive, [0]), 1, 2, [0, 20]],
    ['unknown message type', () => rawMessage(9, []), 1, 3, [9]],
    [
      'UPDATE above 4096 octets without extended messages',
      () => rawMessage(MessageType.Update, new Uint8Array(5000)),
      1,
      2,
      [0x13, 0x9b],
    ],
    ['UPDATE shorter than its fixed fields', () => rawMessage(MessageType.Update, [0, 0]), 1, 2, [0, 21]],
  ];
  for (const [name, bytes, code, subcode, data] of headerCases) {
    test(`header: ${name} → NOTIFICATION ${code}/${subcode}`, async () => {
      const address = newPeer();
      const raw = await established(address);
      raw.send(bytes(address));
      const n = await raw.expectNotification();
      assert.deepEqual([n.code, n.subcode], [code, subcode]);
      if (data) assert.deepEqual([...n.data], data);
      await waitForPeerState(speaker, address, 'Active', 5000);
    });
  }

  test('header cut short, then the connection closes: session down, nothing to answer', async () => {
    const address = newPeer();
    const raw = await established(address);
    raw.send(new Uint8Array(10).fill(0xff));
    raw.socket.end();
    await waitForPeerState(speaker, address, 'Active', 5000);
    assert.equal(speaker.peer(address)!.lastError, 'connection closed by peer');
  });

  const openCases: [string, (address: string) => Uint8Array, number, number, number[] | undefined][] = [
    ['unsupported version', (a) => rawOpen({ asn: RAW_AS, bgpId: a, version: 3 }), 2, 1, [0, 4]],
    ['hold time 1 s', (a) => rawOpen({ asn: RAW_AS, bgpId: a, holdTime: 1 }), 2, 6, undefined],
    ['hold time 2 s', (a) => rawOpen({ asn: RAW_AS, bgpId: a, holdTime: 2 }), 2, 6, undefined],
    ['wrong peer AS', (a) => rawOpen({ asn: 65199, bgpId: a }), 2, 2, [0xfe, 0xaf]],
    ['BGP identifier 0.0.0.0', () => rawOpen({ asn: RAW_AS, bgpId: '0.0.0.0' }), 2, 3, undefined],
    [
      'optional parameters length beyond the message',
      (a) => {
        const m = rawOpen({ asn: RAW_AS, bgpId: a });
        m[28] = m[28]! + 10;
        return m;
      },
      2,
      0,
      undefined,
    ],
  ];
  for (const [name, bytes, code, subcode, data] of openCases) {
    test(`OPEN: ${name} → NOTIFICATION ${code}/${subcode}`, async () => {
      const address = newPeer();
      const raw = await RawPeer.connect(port, address, HOST);
      raw.send(bytes(address));
      const n = await raw.expectNotification();
      assert.deepEqual([n.code, n.subcode], [code, subcode]);
      if (data) assert.deepEqual([...n.data], data);
    });
  }

  test('UPDATE before the OPEN exchange completes → FSM error (RFC 6608 subcode 2)', async () => {
    const address = newPeer();
    const raw = await RawPeer.connect(port, address, HOST);
    raw.send(rawOpen({ asn: RAW_AS, bgpId: address }));
    raw.send(rawMessage(MessageType.Update, updateBody({})));
    const n = await raw.expectNotification();
    assert.deepEqual([n.code, n.subcode], [5, 2]);
  });

  const resetCases: [string, (address: string) => number[], number, number][] = [
    [
      'duplicate MP_REACH_NLRI',
      () => updateBody({ attrs: [...ORIGIN, ...AS_PATH, 0x80, 14, 5, 0, 1, 1, 4, 127, 0x80, 14, 5, 0, 1, 1, 4, 127] }),
      3,
      1,
    ],
    [
      'NLRI prefix length 33',
      (a) => updateBody({ attrs: [...ORIGIN, ...AS_PATH, ...nextHop(a)], nlri: [33, 10, 9, 0, 0, 0] }),
      3,
      10,
    ],
    ['withdrawn prefix length 40', () => updateBody({ withdrawn: [40, 10, 9, 0, 0, 0] }), 3, 10],
    ['total path attribute length beyond the message', () => [0, 0, 0, 200, ...ORIGIN], 3, 1],
    ['withdrawn routes length beyond the message', () => [0, 50, 24, 10], 3, 1],
    [
      'unrecognised well-known attribute',
      (a) => updateBody({ attrs: [...ORIGIN, ...AS_PATH, ...nextHop(a), 0x40, 99, 1, 0], nlri: NLRI }),
      3,
      2,
    ],
  ];
  for (const [name, body, code, subcode] of resetCases) {
    test(`UPDATE: ${name} → NOTIFICATION ${code}/${subcode} (session reset)`, async () => {
      const address = newPeer();
      const raw = await established(address);
      raw.send(rawMessage(MessageType.Update, body(address)));
      const n = await raw.expectNotification();
      assert.deepEqual([n.code, n.subcode], [code, subcode]);
    });
  }

  const withdrawCases: [string, (address: string) => number[]][] = [
    [
      'attribute length overrunning the path attributes',
      (a) => updateBody({ attrs: [...ORIGIN, ...AS_PATH, ...nextHop(a), 0x80, 4, 9, 0, 0, 0, 1], nlri: NLRI }),
    ],
    [
      'zero-length AS_PATH segment',
      (a) => updateBody({ attrs: [...ORIGIN, 0x40, 2, 2, 2, 0, ...nextHop(a)], nlri: NLRI }),
    ],
    ['missing NEXT_HOP', () => updateBody({ attrs: [...ORIGIN, ...AS_PATH], nlri: NLRI })],
    ['ORIGIN value 7', (a) => updateBody({ attrs: [0x40, 1, 1, 7, ...AS_PATH, ...nextHop(a)], nlri: NLRI })],
  ];
  for (const [name, body] of withdrawCases) {
    test(`UPDATE: ${name} → treat-as-withdraw, session stays up`, async () => {
      const address = newPeer();
      const raw = await established(address);
      raw.send(
        rawMessage(MessageType.Update, updateBody({ attrs: [...ORIGIN, ...AS_PATH, ...nextHop(address)], nlri: NLRI })),
      );
      await poll('the valid announcement', async () => (updatesFrom(address).length === 1 ? true : undefined), 5000);
      assert.deepEqual(prefixes(updatesFrom(address)[0]!.update, 'nlri'), ['10.9.0.0/24']);
      raw.send(rawMessage(MessageType.Update, body(address)));
      const u = await poll('the malformed UPDATE as a withdrawal', async () => updatesFrom(address)[1], 5000);
      assert.equal(u.error?.handling, 'treat-as-withdraw');
      assert.deepEqual(prefixes(u.update, 'withdrawn'), ['10.9.0.0/24']);
      assert.deepEqual(u.update.nlri, []);
      assert.equal(u.update.attributes, undefined);
      raw.send(rawMessage(MessageType.Keepalive, []));
      assert.equal(speaker.peer(address)!.state, 'Established');
      assert.equal(raw.closed, false);
      raw.close();
    });
  }

  test('UPDATE: repeated attribute → later copy discarded, route kept, session stays up', async () => {
    const address = newPeer();
    const raw = await established(address);
    raw.send(
      rawMessage(
        MessageType.Update,
        updateBody({ attrs: [...ORIGIN, ...AS_PATH, ...nextHop(address), ...MED(10), ...MED(20)], nlri: NLRI }),
      ),
    );
    const u = await poll('the UPDATE', async () => updatesFrom(address)[0], 5000);
    assert.equal(u.error?.handling, 'attribute-discard');
    assert.equal(u.update.attributes?.med, 10);
    assert.deepEqual(prefixes(u.update, 'nlri'), ['10.9.0.0/24']);
    assert.equal(speaker.peer(address)!.state, 'Established');
    raw.close();
  });

  test('random bytes from an unknown address → Cease/Connection Rejected', async () => {
    const raw = await RawPeer.connect(port, '127.3.0.250', HOST);
    raw.send(randomBytes(4096));
    const n = await raw.expectNotification();
    assert.deepEqual([n.code, n.subcode], [6, 5]);
  });

  test('a flood of random bytes on connections of a configured peer: each ends in a NOTIFICATION', async () => {
    const address = newPeer();
    for (let i = 0; i < 20; i++) {
      const raw = await RawPeer.connect(port, address, HOST);
      raw.send(randomBytes(64 * 1024));
      const n = await raw.expectNotification();
      // Message header error (random marker/length/type) or, when it arrived mid-close, Cease.
      assert.ok(n.code === 1 || n.code === 6, `NOTIFICATION ${n.code}/${n.subcode}`);
    }
  });

  test('arbitrary UPDATE bodies: withdraw, discard or NOTIFICATION, never anything else', async () => {
    const address = newPeer();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (body) => {
        const raw = await established(address);
        const before = updatesFrom(address).length;
        raw.send(rawMessage(MessageType.Update, body));
        raw.send(rawMessage(MessageType.Keepalive, []));
        const f = await raw.next(1000).catch(() => undefined);
        if (f?.type === MessageType.Notification) {
          const code = f.body[0]!;
          assert.ok(
            code === 1 || code === 3,
            `NOTIFICATION code ${code} for body ${Buffer.from(body).toString('hex')}`,
          );
        } else {
          // No answer within the wait: the UPDATE was accepted, withdrawn or had an attribute discarded.
          assert.equal(speaker.peer(address)!.state, 'Established');
          assert.ok(updatesFrom(address).length >= before);
        }
        raw.close();
        await poll(
          'the session to end',
          async () => (speaker.peer(address)!.state !== 'Established' ? true : undefined),
          5000,
        );
      }),
      { numRuns: 40 },
    );
  });

  test('the healthy peer stayed Established through all of it', async () => {
    const s = speaker.peer('127.3.0.2')!;
    assert.equal(s.state, 'Established');
    assert.equal(s.flaps, 0);
    assert.equal(healthy.peer('127.3.0.1')!.flaps, 0);
    assert.deepEqual(
      updatesFrom('127.3.0.2').flatMap((u) => prefixes(u.update, 'nlri')),
      ['10.2.0.0/24'],
    );
  });
});

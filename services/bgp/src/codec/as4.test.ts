import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeMessage,
  encodeMessage,
  MessageType,
  type AsPathSegment,
  type CodecOptions,
  type UpdateMessage,
} from './index.js';
import { reconcileAsPath } from './as4.js';

const TWO: CodecOptions = { fourOctetAs: false, extendedMessage: false, addPath: [] };
const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
const set = (...asns: number[]): AsPathSegment => ({ type: 1, asns });
const confed = (...asns: number[]): AsPathSegment => ({ type: 3, asns });

function update(asPath: AsPathSegment[], aggregator?: { asn: number; address: string }): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    nlri: [{ afi: 4, length: 8, bytes: new Uint8Array([10]), pathId: 0 }],
    attributes: {
      origin: 0,
      asPath,
      nextHop: '192.0.2.1',
      atomicAggregate: false,
      unknown: [],
      ...(aggregator ? { aggregator } : {}),
    },
  };
}

describe('RFC 6793 towards a 2-octet peer', () => {
  it('sends AS_TRANS in AS_PATH/AGGREGATOR plus AS4_PATH/AS4_AGGREGATOR, and reads them back', () => {
    const u = update([confed(65010), seq(65001, 4200000001), set(4200000002, 65003)], {
      asn: 4200000009,
      address: '10.9.9.9',
    });
    const bytes = Buffer.from(encodeMessage(u, TWO));
    assert.ok(bytes.includes(Buffer.from('0202fde95ba0', 'hex')), 'AS_PATH sequence with AS_TRANS');
    assert.ok(
      bytes.includes(Buffer.from('c01114' + '02020000fde9fa56ea01', 'hex')),
      'AS4_PATH without the confederation segment',
    );
    assert.ok(bytes.includes(Buffer.from('c007065ba00a090909', 'hex')), 'AGGREGATOR with AS_TRANS');
    assert.ok(bytes.includes(Buffer.from('c01208fa56ea090a090909', 'hex')), 'AS4_AGGREGATOR');
    assert.deepEqual(decodeMessage(bytes, TWO).message, u);
  });

  it('sends no AS4 attributes when every ASN fits 2 octets', () => {
    const bytes = Buffer.from(encodeMessage(update([seq(65001, 65002)]), TWO));
    assert.ok(!bytes.includes(Buffer.from('c011', 'hex')));
  });
});

describe('reconcileAsPath (RFC 6793 §4.2.3)', () => {
  it('prepends the ASNs an old speaker added in front of AS4_PATH', () => {
    assert.deepEqual(reconcileAsPath([seq(65001, 23456, 23456)], [seq(4200000001, 4200000002)]), [
      seq(65001, 4200000001, 4200000002),
    ]);
  });
  it('ignores AS4_PATH when it is longer than AS_PATH', () => {
    assert.deepEqual(reconcileAsPath([seq(23456)], [seq(4200000001, 4200000002)]), [seq(23456)]);
  });
  it('counts a set as one and keeps leading confederation segments', () => {
    assert.deepEqual(reconcileAsPath([confed(1), set(2, 3), seq(23456)], [seq(4200000001)]), [
      confed(1),
      set(2, 3),
      seq(4200000001),
    ]);
  });
  it('ignores AS4_PATH and AS4_AGGREGATOR when AGGREGATOR is not AS_TRANS', () => {
    const body = (hex: string): Uint8Array => Buffer.from(hex, 'hex');
    const attrs =
      '40010100' +
      '400204' +
      '02015ba0' +
      '400304c0000201' +
      'c00706fde90a000001' +
      'c01106' +
      '0201fa56ea00' +
      'c01208fa56ea000a000002';
    const msg = body(
      'ff'.repeat(16) +
        (19 + 4 + attrs.length / 2 + 2).toString(16).padStart(4, '0') +
        '02' +
        '0000' +
        (attrs.length / 2).toString(16).padStart(4, '0') +
        attrs +
        '080a',
    );
    const u = decodeMessage(msg, TWO).message as UpdateMessage;
    assert.deepEqual(u.attributes?.asPath, [seq(23456)]);
    assert.deepEqual(u.attributes?.aggregator, { asn: 65001, address: '10.0.0.1' });
  });
});

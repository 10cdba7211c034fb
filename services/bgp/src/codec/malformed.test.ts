// Malformed input, one case per rule: each asserts the NOTIFICATION code/subcode, the RFC 7606
// handling, the data and that the message names the field and the lengths involved.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BgpMessageError,
  decodeMessage,
  ErrorCode,
  FrameReader,
  MessageHeaderSubcode,
  OpenMessageSubcode,
  RouteRefreshErrorSubcode,
  UNSPECIFIC_SUBCODE,
  UpdateMessageSubcode,
  type CodecOptions,
  type ErrorHandling,
} from './index.js';

const FOUR: CodecOptions = { fourOctetAs: true, extendedMessage: false, addPath: [] };
const TWO: CodecOptions = { fourOctetAs: false, extendedMessage: false, addPath: [] };

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const MARKER = 'ff'.repeat(16);
function msg(type: number, body: string): Uint8Array {
  const b = body.replace(/\s+/g, '');
  return hex(MARKER + (19 + b.length / 2).toString(16).padStart(4, '0') + type.toString(16).padStart(2, '0') + b);
}
function attr(flags: number, type: number, value: string): string {
  const len = value.length / 2;
  const f = len > 255 ? flags | 0x10 : flags;
  const l = len > 255 ? len.toString(16).padStart(4, '0') : len.toString(16).padStart(2, '0');
  return f.toString(16).padStart(2, '0') + type.toString(16).padStart(2, '0') + l + value;
}
function update(attrs: string, nlri = '', withdrawn = ''): Uint8Array {
  const w = (withdrawn.length / 2).toString(16).padStart(4, '0');
  const a = (attrs.length / 2).toString(16).padStart(4, '0');
  return msg(2, w + withdrawn + a + attrs + nlri);
}
const ORIGIN = attr(0x40, 1, '00');
const EMPTY_PATH = attr(0x40, 2, '');
const NH = attr(0x40, 3, 'c0000201');
const NLRI = '180a0000';

interface Expect {
  code: number;
  subcode: number;
  handling: ErrorHandling;
  data?: string;
  message: RegExp;
}

function expectThrow(bytes: Uint8Array, opts: CodecOptions, e: Expect): void {
  assert.throws(
    () => decodeMessage(bytes, opts),
    (err: unknown) => {
      assert.ok(err instanceof BgpMessageError, String(err));
      assert.equal(err.code, e.code, err.message);
      assert.equal(err.subcode, e.subcode, err.message);
      assert.equal(err.handling, e.handling, err.message);
      if (e.data !== undefined) assert.equal(Buffer.from(err.data).toString('hex'), e.data);
      assert.match(err.message, e.message);
      return true;
    },
  );
}

function expectSoft(bytes: Uint8Array, opts: CodecOptions, e: Expect): ReturnType<typeof decodeMessage> {
  const r = decodeMessage(bytes, opts);
  assert.ok(r.error, 'expected an attribute-level error');
  assert.equal(r.error.code, e.code, r.error.message);
  assert.equal(r.error.subcode, e.subcode, r.error.message);
  assert.equal(r.error.handling, e.handling, r.error.message);
  if (e.data !== undefined) assert.equal(Buffer.from(r.error.data).toString('hex'), e.data);
  assert.match(r.error.message, e.message);
  return r;
}

describe('message header (RFC 4271 §6.1)', () => {
  it('bad marker → 1/1 Connection Not Synchronized', () => {
    expectThrow(hex('ff'.repeat(15) + '00' + '0013' + '04'), FOUR, {
      code: ErrorCode.MessageHeader,
      subcode: MessageHeaderSubcode.ConnectionNotSynchronized,
      handling: 'session-reset',
      message: /marker octet 15/,
    });
  });
  it('length below 19, above 4096, and above 4096 for OPEN even with extended messages → 1/2 with the length', () => {
    expectThrow(hex(MARKER + '0012' + '04'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      data: '0012',
      message: /length 18 is outside 19\.\.4096/,
    });
    const big = new Uint8Array(4097).fill(0xff, 0, 16);
    big[16] = 0x10;
    big[17] = 0x01;
    big[18] = 2;
    expectThrow(big, FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      data: '1001',
      message: /UPDATE length 4097/,
    });
    big[18] = 1;
    expectThrow(
      big,
      { ...FOUR, extendedMessage: true },
      { code: 1, subcode: 2, handling: 'session-reset', data: '1001', message: /OPEN length 4097 exceeds 4096/ },
    );
  });
  it('per-type minimum lengths → 1/2', () => {
    expectThrow(msg(4, '00'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      data: '0014',
      message: /KEEPALIVE length 20 is not 19/,
    });
    expectThrow(msg(2, '0000'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      data: '0015',
      message: /UPDATE length 21 is below the minimum 23/,
    });
    expectThrow(msg(1, '04'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      message: /OPEN length 20 is below the minimum 29/,
    });
    expectThrow(msg(3, '06'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      message: /NOTIFICATION length 20/,
    });
  });
  it('unknown type → 1/3 with the type', () => {
    expectThrow(hex(MARKER + '0013' + '09'), FOUR, {
      code: 1,
      subcode: 3,
      handling: 'session-reset',
      data: '09',
      message: /unknown message type 9/,
    });
  });
  it('truncated header: FrameReader waits, decodeMessage rejects', () => {
    const r = new FrameReader();
    r.push(hex(MARKER + '00'));
    assert.equal(r.next(), undefined);
    assert.equal(r.buffered, 17);
    expectThrow(hex(MARKER + '00'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      message: /17 octets, a header needs 19/,
    });
  });
  it('a length field that disagrees with the frame → 1/2', () => {
    const k = msg(4, '');
    expectThrow(hex(Buffer.from(k).toString('hex') + '00'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      message: /length field 19 but the message has 20 octets/,
    });
  });
});

describe('OPEN (RFC 4271 §6.2, RFC 5492)', () => {
  it('unsupported version → 2/1 with version 4 as data', () => {
    expectThrow(msg(1, '03fde9005a0a00000100'), FOUR, {
      code: 2,
      subcode: OpenMessageSubcode.UnsupportedVersionNumber,
      handling: 'session-reset',
      data: '0004',
      message: /version 3/,
    });
  });
  it('hold time 1 or 2 → 2/6', () => {
    expectThrow(msg(1, '04fde900020a00000100'), FOUR, {
      code: 2,
      subcode: OpenMessageSubcode.UnacceptableHoldTime,
      handling: 'session-reset',
      message: /hold time 2 s/,
    });
  });
  it('BGP identifier 0.0.0.0 → 2/3', () => {
    expectThrow(msg(1, '04fde9005a0000000000'), FOUR, {
      code: 2,
      subcode: OpenMessageSubcode.BadBgpIdentifier,
      handling: 'session-reset',
      message: /identifier is 0\.0\.0\.0/,
    });
  });
  it('optional parameter other than capabilities → 2/4', () => {
    expectThrow(msg(1, '04fde9005a0a00000103 010100'), FOUR, {
      code: 2,
      subcode: OpenMessageSubcode.UnsupportedOptionalParameter,
      handling: 'session-reset',
      data: '010100',
      message: /parameter type 1/,
    });
  });
  it('optional parameters and capability lengths that overrun → 2/0', () => {
    expectThrow(msg(1, '04fde9005a0a0000010a 02040104'), FOUR, {
      code: 2,
      subcode: UNSPECIFIC_SUBCODE,
      handling: 'session-reset',
      message: /optional parameters length 10 but 4 octets follow/,
    });
    expectThrow(msg(1, '04fde9005a0a00000106 02044109fa56'), FOUR, {
      code: 2,
      subcode: 0,
      handling: 'session-reset',
      message: /capability code 65 declares 9 octets but 2 remain/,
    });
    expectThrow(msg(1, '04fde9005a0a00000107 02054103fa56ea'), FOUR, {
      code: 2,
      subcode: 0,
      handling: 'session-reset',
      data: '4103fa56ea',
      message: /code 65: length 3, expected 4/,
    });
  });
});

describe('UPDATE (RFC 4271 §6.3, RFC 7606)', () => {
  it('withdrawn routes length overrun → session reset 3/1', () => {
    expectThrow(msg(2, 'ffff0000'), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.MalformedAttributeList,
      handling: 'session-reset',
      message: /withdrawn routes length 65535 exceeds the 0 octets/,
    });
  });
  it('total path attribute length overrun → session reset 3/1', () => {
    expectThrow(msg(2, '00000010 4001'), FOUR, {
      code: 3,
      subcode: 1,
      handling: 'session-reset',
      message: /total path attribute length 16 exceeds the 2 octets/,
    });
  });
  it('attribute length overrunning the attribute section → treat-as-withdraw (RFC 7606 §4)', () => {
    const r = expectSoft(update(ORIGIN + EMPTY_PATH + NH + 'c008ff00000001', NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.AttributeLengthError,
      handling: 'treat-as-withdraw',
      message: /COMMUNITIES: attribute length 255 overruns the 4 octets left/,
    });
    assert.equal(r.message.type, 2);
  });
  it('attribute header truncated → treat-as-withdraw', () => {
    expectSoft(update(ORIGIN + EMPTY_PATH + NH + 'd063ff', NLRI), FOUR, {
      code: 3,
      subcode: 1,
      handling: 'treat-as-withdraw',
      message: /3 octets left .* too few for a 4-octet attribute header/,
    });
  });
  it('duplicate attribute → later copy discarded (RFC 7606 §3 g), the first kept', () => {
    const r = expectSoft(
      update(ORIGIN + EMPTY_PATH + NH + attr(0x80, 4, '00000005') + attr(0x80, 4, '00000009'), NLRI),
      FOUR,
      {
        code: 3,
        subcode: 1,
        handling: 'attribute-discard',
        data: '800404' + '00000009',
        message: /MULTI_EXIT_DISC: appears more than once/,
      },
    );
    assert.equal(r.message.type === 2 && r.message.attributes?.med, 5);
  });
  it('duplicate MP_REACH_NLRI → session reset', () => {
    const mp = attr(0x80, 14, '00020110' + '20010db8000000000000000000000001' + '00' + '2020010db8');
    expectThrow(update(ORIGIN + EMPTY_PATH + mp + mp), FOUR, {
      code: 3,
      subcode: 1,
      handling: 'session-reset',
      message: /MP_REACH_NLRI: appears more than once/,
    });
  });
  it('missing ORIGIN / AS_PATH / NEXT_HOP with NLRI → treat-as-withdraw 3/3 with the type code', () => {
    expectSoft(update(EMPTY_PATH + NH, NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.MissingWellKnownAttribute,
      handling: 'treat-as-withdraw',
      data: '01',
      message: /ORIGIN is missing/,
    });
    expectSoft(update(ORIGIN + NH, NLRI), FOUR, {
      code: 3,
      subcode: 3,
      handling: 'treat-as-withdraw',
      data: '02',
      message: /AS_PATH is missing/,
    });
    expectSoft(update(ORIGIN + EMPTY_PATH, NLRI), FOUR, {
      code: 3,
      subcode: 3,
      handling: 'treat-as-withdraw',
      data: '03',
      message: /NEXT_HOP is missing/,
    });
  });
  it('NEXT_HOP is not required with MP_REACH only (RFC 4760 §3)', () => {
    const mp = attr(0x80, 14, '00020110' + '20010db8000000000000000000000001' + '00' + '2020010db8');
    const r = decodeMessage(update(ORIGIN + EMPTY_PATH + mp), FOUR);
    assert.equal(r.error, undefined);
  });
  it('attribute flags conflict → 3/4 with the attribute, per-attribute handling', () => {
    expectSoft(update(attr(0xc0, 1, '00') + EMPTY_PATH + NH, NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.AttributeFlagsError,
      handling: 'treat-as-withdraw',
      data: 'c0010100',
      message: /ORIGIN: flags 0xc0 conflict/,
    });
    expectSoft(update(ORIGIN + EMPTY_PATH + NH + attr(0x00, 6, ''), NLRI), FOUR, {
      code: 3,
      subcode: 4,
      handling: 'attribute-discard',
      message: /ATOMIC_AGGREGATE: flags 0x0/,
    });
  });
  it('bad ORIGIN value → 3/6 treat-as-withdraw', () => {
    expectSoft(update(attr(0x40, 1, '03') + EMPTY_PATH + NH, NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.InvalidOriginAttribute,
      handling: 'treat-as-withdraw',
      data: '40010103',
      message: /ORIGIN: value 3/,
    });
  });
  it('invalid NEXT_HOP → 3/8 treat-as-withdraw; wrong length → 3/5', () => {
    expectSoft(update(ORIGIN + EMPTY_PATH + attr(0x40, 3, 'e0000001'), NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.InvalidNextHopAttribute,
      handling: 'treat-as-withdraw',
      message: /NEXT_HOP: 224\.0\.0\.1/,
    });
    expectSoft(update(ORIGIN + EMPTY_PATH + attr(0x40, 3, 'c00002'), NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.AttributeLengthError,
      handling: 'treat-as-withdraw',
      message: /NEXT_HOP: length 3, expected 4/,
    });
  });
  it('AS_PATH segment overrun and zero-length segment → 3/11 treat-as-withdraw', () => {
    expectSoft(update(ORIGIN + attr(0x40, 2, '0205' + '0000fde9' + '000001') + NH, NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.MalformedAsPath,
      handling: 'treat-as-withdraw',
      message: /AS_PATH segment 1 declares 5 ASNs \(20 octets\) but 7 octets remain/,
    });
    expectSoft(update(ORIGIN + attr(0x40, 2, '02010000fde9' + '0200') + NH, NLRI), FOUR, {
      code: 3,
      subcode: 11,
      handling: 'treat-as-withdraw',
      message: /AS_PATH segment 2 declares 0 ASNs/,
    });
    expectSoft(update(ORIGIN + attr(0x40, 2, '02020001') + NH, NLRI), TWO, {
      code: 3,
      subcode: 11,
      handling: 'treat-as-withdraw',
      message: /declares 2 ASNs \(4 octets\) but 2 octets remain/,
    });
  });
  it('NLRI and withdrawn prefix errors → 3/10 session reset', () => {
    expectThrow(update(ORIGIN + EMPTY_PATH + NH, '21' + '0a000000' + '00'), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.InvalidNetworkField,
      handling: 'session-reset',
      message: /NLRI: prefix 1: length 33 exceeds 32/,
    });
    expectThrow(update(ORIGIN + EMPTY_PATH + NH, '180a00'), FOUR, {
      code: 3,
      subcode: 10,
      handling: 'session-reset',
      message: /prefix 1: \/24 needs 3 octets but 2 remain/,
    });
    expectThrow(update('', '', '200a00'), FOUR, {
      code: 3,
      subcode: 10,
      handling: 'session-reset',
      message: /withdrawn routes: prefix 1: \/32 needs 4 octets/,
    });
  });
  it('MP_REACH_NLRI malformed → afisafi-disable with the family; unreadable family → session reset', () => {
    expectThrow(update(ORIGIN + EMPTY_PATH + attr(0x80, 14, '000201ff' + '00'.repeat(6))), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.OptionalAttributeError,
      handling: 'afisafi-disable',
      message: /next hop length 255 .* overrun the 10-octet attribute/,
    });
    assert.throws(
      () =>
        decodeMessage(update(ORIGIN + EMPTY_PATH + attr(0x80, 14, '00020110' + '00'.repeat(16) + '00' + '81')), FOUR),
      (e: unknown) => e instanceof BgpMessageError && e.afi === 2 && e.safi === 1,
    );
    expectThrow(update(attr(0x80, 14, '0002')), FOUR, {
      code: 3,
      subcode: 9,
      handling: 'session-reset',
      message: /MP_REACH_NLRI: length 2 is too short/,
    });
    expectThrow(update(attr(0x80, 15, '000201' + '81' + '00'.repeat(16))), FOUR, {
      code: 3,
      subcode: 9,
      handling: 'afisafi-disable',
      message: /MP_UNREACH_NLRI \(AFI 2 SAFI 1\) withdrawn: prefix 1: length 129 exceeds 128/,
    });
  });
  it('unrecognised well-known attribute → 3/2 session reset', () => {
    expectThrow(update(ORIGIN + EMPTY_PATH + NH + attr(0x40, 99, '01'), NLRI), FOUR, {
      code: 3,
      subcode: UpdateMessageSubcode.UnrecognizedWellKnownAttribute,
      handling: 'session-reset',
      data: '40630101',
      message: /attribute type 99/,
    });
  });
  it('communities, large communities, cluster list lengths → treat-as-withdraw; aggregator → discard', () => {
    expectSoft(update(ORIGIN + EMPTY_PATH + NH + attr(0xc0, 8, ''), NLRI), FOUR, {
      code: 3,
      subcode: 5,
      handling: 'treat-as-withdraw',
      message: /COMMUNITIES: length 0, expected a positive multiple of 4/,
    });
    expectSoft(update(ORIGIN + EMPTY_PATH + NH + attr(0xc0, 32, '00'.repeat(11)), NLRI), FOUR, {
      code: 3,
      subcode: 5,
      handling: 'treat-as-withdraw',
      message: /LARGE_COMMUNITY: length 11/,
    });
    expectSoft(update(ORIGIN + EMPTY_PATH + NH + attr(0x80, 10, '0a0000'), NLRI), FOUR, {
      code: 3,
      subcode: 5,
      handling: 'treat-as-withdraw',
      message: /CLUSTER_LIST: length 3/,
    });
    const r = expectSoft(update(ORIGIN + EMPTY_PATH + NH + attr(0xc0, 7, '5ba0c0000201'), NLRI), FOUR, {
      code: 3,
      subcode: 5,
      handling: 'attribute-discard',
      message: /AGGREGATOR: length 6, expected 8 with 4-octet/,
    });
    assert.equal(r.message.type === 2 && r.message.attributes?.aggregator, undefined);
  });
  it('the strongest error wins: treat-as-withdraw over attribute-discard, session reset over both', () => {
    const discardThenWithdraw = update(ORIGIN + EMPTY_PATH + NH + attr(0x00, 6, '') + attr(0xc0, 8, ''), NLRI);
    expectSoft(discardThenWithdraw, FOUR, {
      code: 3,
      subcode: 5,
      handling: 'treat-as-withdraw',
      message: /COMMUNITIES/,
    });
    expectThrow(update(ORIGIN + EMPTY_PATH + NH + attr(0xc0, 8, '') + attr(0x40, 99, '01'), NLRI), FOUR, {
      code: 3,
      subcode: 2,
      handling: 'session-reset',
      message: /well-known/,
    });
  });
  it('AS4_PATH from a 4-octet peer is ignored; malformed AS4_PATH from a 2-octet peer is discarded', () => {
    const as4 = attr(0xc0, 17, '0201fa56ea00');
    const r = decodeMessage(update(ORIGIN + attr(0x40, 2, '02010000fde9') + NH + as4, NLRI), FOUR);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.message.type === 2 && r.message.attributes?.asPath, [{ type: 2, asns: [65001] }]);
    expectSoft(update(ORIGIN + attr(0x40, 2, '02015ba0') + NH + attr(0xc0, 17, '0301fa56ea00'), NLRI), TWO, {
      code: 3,
      subcode: 9,
      handling: 'attribute-discard',
      message: /AS4_PATH: contains a confederation segment/,
    });
  });
});

describe('ROUTE-REFRESH (RFC 2918, RFC 7313 §5)', () => {
  it('BoRR of the wrong length → 7/1 with the whole message', () => {
    const m = msg(5, '0001010100');
    expectThrow(m, FOUR, {
      code: ErrorCode.RouteRefreshMessage,
      subcode: RouteRefreshErrorSubcode.InvalidMessageLength,
      handling: 'session-reset',
      data: Buffer.from(m).toString('hex'),
      message: /subtype 1 body is 5 octets/,
    });
  });
  it('normal request of the wrong length → 1/2', () => {
    expectThrow(msg(5, '000100'), FOUR, {
      code: 1,
      subcode: 2,
      handling: 'session-reset',
      data: '0016',
      message: /body is 3 octets, expected 4/,
    });
  });
});

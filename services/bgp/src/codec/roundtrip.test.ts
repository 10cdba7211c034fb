// Property tests: for every message, capability and attribute, decode(encode(x)) ≡ x and
// encodedLength(x) === encode(x).length, across 2-/4-octet AS and ADD-PATH option sets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeMessage,
  decodeUpdate,
  encodeAttributes,
  encodeMessage,
  encodeUpdate,
  encodedLength,
  HEADER_LENGTH,
  MessageType,
  type BgpMessage,
  type CodecOptions,
  type OpenMessage,
  type UpdateMessage,
} from './index.js';
import {
  capabilityArb,
  codecOptionsArb,
  messageArb,
  notificationArb,
  openArb,
  pathAttributesArb,
  routeRefreshArb,
  updateArb,
} from './test-arbitraries.js';

const RUNS = Number(process.env.MESHLESS_FUZZ_RUNS ?? 4000);
fc.configureGlobal({ includeErrorInReport: true });

function roundtrip(m: BgpMessage, opts: CodecOptions): void {
  const bytes = encodeMessage(m, opts);
  assert.equal(encodedLength(m, opts), bytes.length);
  const decoded = decodeMessage(bytes, opts);
  assert.equal(decoded.error, undefined, decoded.error?.message);
  assert.deepStrictEqual(decoded.message, m);
}

describe('codec round trip', () => {
  it('OPEN with every capability kind', () => {
    fc.assert(
      fc.property(openArb, (m) => roundtrip(m, { fourOctetAs: false, extendedMessage: false, addPath: [] })),
      { numRuns: RUNS },
    );
  });

  it('each capability alone, and capabilities beyond 255 octets (RFC 9072 framing)', () => {
    const base: Omit<OpenMessage, 'capabilities'> = {
      type: MessageType.Open,
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.0.0.1',
    };
    fc.assert(
      fc.property(capabilityArb, (c) =>
        roundtrip({ ...base, capabilities: [c] }, { fourOctetAs: true, extendedMessage: false, addPath: [] }),
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.array(capabilityArb, { minLength: 40, maxLength: 60 }), (caps) => {
        const m = { ...base, capabilities: caps };
        fc.pre(encodedLength(m, { fourOctetAs: true, extendedMessage: false, addPath: [] }) <= 4096);
        roundtrip(m, { fourOctetAs: true, extendedMessage: false, addPath: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('UPDATE with every attribute, MP_REACH/MP_UNREACH, 2- and 4-octet AS, ADD-PATH', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant(o), updateArb(o))),
        ([opts, u]) => roundtrip(u, opts),
      ),
      { numRuns: RUNS },
    );
  });

  it('UPDATE within 4096 octets when extended messages are off', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant({ ...o, extendedMessage: false }), updateArb(o))),
        ([opts, u]) => {
          fc.pre(encodedLength(u, { ...opts, extendedMessage: true }) <= 4096);
          roundtrip(u, opts);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('pre-encoded attributes give the same bytes as encoding the whole UPDATE', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant(o), updateArb(o))),
        ([opts, u]) => {
          fc.pre(u.attributes !== undefined);
          const shared = encodeAttributes(u.attributes!, opts);
          const viaShared = encodeUpdate(
            {
              attributesBytes: shared,
              withdrawn: u.withdrawn,
              nlri: u.nlri,
              mpReach: u.mpReach,
              mpUnreach: u.mpUnreach,
            },
            opts,
          );
          assert.deepStrictEqual(new Uint8Array(viaShared), new Uint8Array(encodeMessage(u, opts)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('path attributes alone (2- and 4-octet AS)', () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((four) => fc.tuple(fc.constant(four), pathAttributesArb(four, true))),
        ([fourOctetAs, attributes]) => {
          const opts = { fourOctetAs, extendedMessage: true, addPath: [] };
          const u: UpdateMessage = {
            type: MessageType.Update,
            withdrawn: [],
            nlri: [{ afi: 4, length: 8, bytes: new Uint8Array([10]), pathId: 0 }],
            attributes,
          };
          const bytes = encodeMessage(u, opts);
          const r = decodeUpdate(bytes.subarray(HEADER_LENGTH), opts);
          assert.equal(r.error, undefined);
          assert.deepStrictEqual(r.update.attributes, attributes);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('NOTIFICATION, KEEPALIVE, ROUTE-REFRESH', () => {
    const opts = { fourOctetAs: true, extendedMessage: false, addPath: [] };
    fc.assert(
      fc.property(notificationArb, (m) => roundtrip(m, opts)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(routeRefreshArb, (m) => {
        const bytes = encodeMessage(m, opts);
        assert.equal(bytes.length, encodedLength(m, opts));
        assert.deepStrictEqual(decodeMessage(bytes, opts).message, m);
      }),
      { numRuns: RUNS },
    );
    roundtrip({ type: MessageType.Keepalive }, opts);
  });

  it('encodedLength equals the bytes written for any message', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant(o), messageArb(o))),
        ([opts, m]) => {
          assert.equal(encodeMessage(m, opts).length, encodedLength(m, opts));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

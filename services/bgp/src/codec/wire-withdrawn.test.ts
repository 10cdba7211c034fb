// decodeUpdate's wire-form withdrawn routes (`wireWithdrawn`): the same prefixes as the decoded
// list, validated the same way, and never re-encoded by mistake.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BASELINE_CODEC_OPTIONS,
  BgpMessageError,
  HEADER_LENGTH,
  decodeUpdate,
  encodeUpdate,
  parsePrefix,
  wirePrefixesToPrefixes,
  type UpdateMessage,
} from './index.js';
import { codecOptionsArb, updateArb } from './test-arbitraries.js';

const RUNS = Number(process.env.MESHLESS_FUZZ_RUNS ?? 2000);

function body(u: UpdateMessage, opts = BASELINE_CODEC_OPTIONS): Uint8Array {
  return encodeUpdate(u, opts).subarray(HEADER_LENGTH);
}

describe('UPDATE withdrawn routes in wire form', () => {
  it('holds exactly the prefixes the decoded list holds; everything else decodes the same', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant(o), updateArb(o))),
        ([opts, u]) => {
          const b = body(u, opts);
          const plain = decodeUpdate(b, opts).update;
          const wire = decodeUpdate(b, opts, { wireWithdrawn: true }).update;
          assert.deepStrictEqual(wire.withdrawn, []);
          if (plain.withdrawn.length === 0) assert.equal(wire.withdrawnWire, undefined);
          else {
            assert.equal(wire.withdrawnWire?.count, plain.withdrawn.length);
            assert.deepStrictEqual(wirePrefixesToPrefixes(wire.withdrawnWire!), plain.withdrawn);
          }
          const { withdrawnWire: _w, withdrawn: _a, ...restWire } = wire;
          const { withdrawn: _b, ...restPlain } = plain;
          assert.deepStrictEqual(restWire, restPlain);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('owns its octets: a later change to the received buffer does not reach it', () => {
    const b = body({ type: 2, withdrawn: [parsePrefix('10.1.2.0/24')], nlri: [] });
    const w = decodeUpdate(b, BASELINE_CODEC_OPTIONS, { wireWithdrawn: true }).update.withdrawnWire!;
    b.fill(0);
    assert.deepStrictEqual(wirePrefixesToPrefixes(w), [parsePrefix('10.1.2.0/24')]);
  });

  it('a malformed withdrawn routes field resets the session as before (RFC 7606 §5.3)', () => {
    // Withdrawn length 2: a /33 (longer than IPv4) and its one octet.
    const bad = Uint8Array.from([0, 2, 33, 10, 0, 0]);
    for (const how of [{}, { wireWithdrawn: true }]) {
      assert.throws(
        () => decodeUpdate(bad, BASELINE_CODEC_OPTIONS, how),
        (e: unknown) =>
          e instanceof BgpMessageError && /withdrawn routes: prefix 1: length 33 exceeds 32/.test(e.message),
      );
    }
    // A /24 that needs 3 octets but has 1.
    const short = Uint8Array.from([0, 2, 24, 10, 0, 0]);
    assert.throws(
      () => decodeUpdate(short, BASELINE_CODEC_OPTIONS, { wireWithdrawn: true }),
      /prefix 1: \/24 needs 3 octets but 1 remain/,
    );
  });

  it('a message carrying a received wire-form list is refused by the encoder, naming the field', () => {
    const b = body({ type: 2, withdrawn: [parsePrefix('10.1.2.0/24')], nlri: [] });
    const u = decodeUpdate(b, BASELINE_CODEC_OPTIONS, { wireWithdrawn: true }).update;
    assert.throws(() => encodeUpdate(u, BASELINE_CODEC_OPTIONS), /withdrawnWire/);
  });
});

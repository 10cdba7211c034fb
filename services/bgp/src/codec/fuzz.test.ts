// Robustness properties: arbitrary bytes and mutated valid encodings (flipped octets, truncation,
// extension, corrupted length fields) either decode or raise BgpMessageError, never anything else;
// whatever decodes cleanly re-encodes to the same value. Failing inputs belong in
// testdata/crashers/ (replayed by crashers.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BgpMessageError,
  decodeMessage,
  decodeOpen,
  decodeUpdate,
  encodeMessage,
  FrameReader,
  HEADER_LENGTH,
  type CodecOptions,
} from './index.js';
import { codecOptionsArb, messageArb } from './test-arbitraries.js';
import { decodesOrBgpError, stable } from './test-support.js';

/** Cases per property; raise MESHLESS_FUZZ_RUNS for a longer campaign (failures go to testdata/crashers). */
const RUNS = Number(process.env.MESHLESS_FUZZ_RUNS ?? 8000);
fc.configureGlobal({ includeErrorInReport: true });

type Mutation =
  | { kind: 'set'; index: number; value: number }
  | { kind: 'truncate'; index: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'bump'; index: number; delta: number }
  | { kind: 'insert'; index: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), index: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({
    kind: fc.constant('bump' as const),
    index: fc.nat(),
    delta: fc.constantFrom(-2, -1, 1, 2, 4, 16, 128, -128),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    index: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
);

function mutate(src: Uint8Array, ms: readonly Mutation[], fixLength: boolean): Uint8Array {
  let b = new Uint8Array(src);
  for (const m of ms) {
    // Mutations target the body when the header length gets fixed afterwards.
    const lo = fixLength ? HEADER_LENGTH : 0;
    const at = (i: number): number => lo + (b.length > lo ? i % (b.length - lo) : 0);
    switch (m.kind) {
      case 'set':
        if (b.length > lo) b[at(m.index)] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, Math.max(fixLength ? HEADER_LENGTH : 0, at(m.index)));
        break;
      case 'extend': {
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b);
        n.set(m.bytes, b.length);
        b = n;
        break;
      }
      case 'bump':
        if (b.length > lo) {
          const i = at(m.index);
          b[i] = (b[i]! + m.delta) & 255;
        }
        break;
      case 'insert': {
        const i = b.length > lo ? at(m.index) : b.length;
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b.subarray(0, i));
        n.set(m.bytes, i);
        n.set(b.subarray(i), i + m.bytes.length);
        b = n;
        break;
      }
    }
  }
  if (fixLength && b.length >= HEADER_LENGTH && b.length <= 0xffff) {
    b[16] = b.length >> 8;
    b[17] = b.length & 255;
  }
  return b;
}

describe('codec robustness', () => {
  it('arbitrary bodies behind a valid header decode or raise BgpMessageError', () => {
    fc.assert(
      fc.property(
        codecOptionsArb,
        fc.integer({ min: 1, max: 5 }),
        fc.uint8Array({ maxLength: 600 }),
        (opts, type, body) => {
          const m = new Uint8Array(HEADER_LENGTH + body.length).fill(0xff, 0, 16);
          m[16] = m.length >> 8;
          m[17] = m.length & 255;
          m[18] = type;
          m.set(body, HEADER_LENGTH);
          decodesOrBgpError(() => decodeMessage(m, opts), m);
          decodesOrBgpError(() => decodeUpdate(body, opts), body);
          decodesOrBgpError(() => decodeOpen(body), body);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes (any header) decode or raise BgpMessageError', () => {
    fc.assert(
      fc.property(codecOptionsArb, fc.uint8Array({ maxLength: 100 }), (opts, m) => {
        decodesOrBgpError(() => decodeMessage(m, opts), m);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated valid messages decode or raise BgpMessageError, and decode stably', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant(o), messageArb(o))),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        ([opts, msg], ms, fixLength) => {
          const bytes = mutate(encodeMessage(msg, opts), ms, fixLength);
          decodesOrBgpError(() => decodeMessage(bytes, opts), bytes);
          stable(bytes, opts);
          // The other AS-number width and no ADD-PATH read the same bytes differently.
          const other = { ...opts, fourOctetAs: !opts.fourOctetAs, addPath: [] };
          decodesOrBgpError(() => decodeMessage(bytes, other), bytes);
          stable(bytes, other);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('FrameReader over mutated streams in random chunks yields frames or BgpMessageError', () => {
    fc.assert(
      fc.property(
        codecOptionsArb.chain((o) => fc.tuple(fc.constant(o), fc.array(messageArb(o), { minLength: 1, maxLength: 4 }))),
        fc.array(mutationArb, { maxLength: 2 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }),
        ([opts, msgs], ms, cuts) => {
          const stream = mutate(Buffer.concat(msgs.map((m) => encodeMessage(m, opts))), ms, false);
          const reader = new FrameReader({ extendedMessage: opts.extendedMessage });
          let off = 0;
          let i = 0;
          const frames: Uint8Array[] = [];
          try {
            while (off < stream.length) {
              const n = cuts[i++ % cuts.length]!;
              reader.push(stream.subarray(off, off + n));
              off += n;
              for (let f = reader.next(); f; f = reader.next()) {
                frames.push(f.message);
                decodesOrBgpError(() => decodeMessage(f.message, opts), f.message);
              }
            }
          } catch (err) {
            if (!(err instanceof BgpMessageError)) throw err;
            return;
          }
          if (ms.length === 0) {
            assert.equal(frames.length, msgs.length);
            assert.equal(reader.buffered, 0);
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

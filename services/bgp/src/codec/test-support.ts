// Shared assertions of the codec's robustness tests (fuzz properties and the crasher replay).

import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { BgpMessageError, decodeMessage, encodeMessage, type CodecOptions } from './index.js';

/** Option sets every replayed input is decoded with: 2-/4-octet AS, with and without ADD-PATH. */
export const REPLAY_OPTIONS: readonly CodecOptions[] = [false, true].flatMap((fourOctetAs) =>
  [false, true].map((addPath) => ({
    fourOctetAs,
    extendedMessage: true,
    addPath: addPath
      ? [
          { afi: 1, safi: 1, receive: true, send: true },
          { afi: 2, safi: 1, receive: true, send: true },
        ]
      : [],
  })),
);

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Runs `f`; anything thrown other than BgpMessageError fails the property (with the input). */
export function decodesOrBgpError(f: () => unknown, input: Uint8Array): unknown {
  try {
    return f();
  } catch (err) {
    if (err instanceof BgpMessageError) {
      assert.ok(err.message.length > 0);
      assert.ok(err.code >= 1 && err.code <= 7, `code ${err.code}`);
      return undefined;
    }
    throw new Error(`non-BgpMessageError for ${toHex(input)}: ${String(err)}`, { cause: err });
  }
}

/** decode → encode → decode gives the same value (or the encoder refuses with InvalidArgumentError). */
export function stable(bytes: Uint8Array, received: CodecOptions): void {
  // Re-encode with path identifiers exactly where the decoder expects them.
  const opts = { ...received, addPath: received.addPath.map((a) => ({ ...a, send: a.receive })) };
  let first;
  try {
    first = decodeMessage(bytes, opts);
  } catch (err) {
    if (err instanceof BgpMessageError) return;
    throw new Error(`non-BgpMessageError for ${toHex(bytes)}: ${String(err)}`, { cause: err });
  }
  if (first.error) return;
  let again: Uint8Array;
  try {
    again = encodeMessage(first.message, opts);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return;
    throw new Error(`re-encoding ${toHex(bytes)} threw ${String(err)}`, { cause: err });
  }
  const second = decodeMessage(again, opts);
  assert.equal(second.error, undefined, `re-decoding ${toHex(bytes)}: ${second.error?.message}`);
  assert.deepStrictEqual(second.message, first.message, `unstable for ${toHex(bytes)}`);
}

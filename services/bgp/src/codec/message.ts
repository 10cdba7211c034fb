// placeholder bodies, filled in the next commit
import type { BgpMessageError } from './errors.js';
import type { BgpMessage, CodecOptions } from './types.js';
export interface DecodeResult {
  readonly message: BgpMessage;
  readonly error?: BgpMessageError;
}
export function decodeMessage(_m: Uint8Array, _o: CodecOptions): DecodeResult {
  throw new Error('pending');
}
export function encodeMessage(_m: BgpMessage, _o: CodecOptions): Uint8Array {
  throw new Error('pending');
}
export function encodedLength(_m: BgpMessage, _o: CodecOptions): number {
  throw new Error('pending');
}

// placeholder bodies, filled in the next commit
import type { BgpMessageError } from './errors.js';
import type { AfiSafi, CodecOptions, PathAttributes, PreEncodedUpdate, UpdateMessage } from './types.js';

export interface UpdateDecodeResult {
  readonly update: UpdateMessage;
  readonly error?: BgpMessageError;
}
export function decodeUpdate(_body: Uint8Array, _opts: CodecOptions): UpdateDecodeResult {
  throw new Error('pending');
}
export function encodeUpdate(_u: UpdateMessage | PreEncodedUpdate, _opts: CodecOptions): Uint8Array {
  throw new Error('pending');
}
export function encodeAttributes(_a: PathAttributes, _opts: CodecOptions): Uint8Array {
  throw new Error('pending');
}
export function endOfRib(_afi: number, _safi: number): UpdateMessage {
  throw new Error('pending');
}
export function isEndOfRib(_u: UpdateMessage): AfiSafi | undefined {
  throw new Error('pending');
}

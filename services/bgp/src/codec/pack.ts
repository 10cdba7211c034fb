// placeholder bodies, filled in the next commit
import type { CodecOptions, MpNextHop, Prefix } from './types.js';
export function packUpdates(_p: readonly Prefix[], _a: Uint8Array, _o: CodecOptions, _max?: number, _nh?: MpNextHop): Uint8Array[] {
  throw new Error('pending');
}
export function packWithdrawals(_p: readonly Prefix[], _o: CodecOptions, _max?: number): Uint8Array[] {
  throw new Error('pending');
}

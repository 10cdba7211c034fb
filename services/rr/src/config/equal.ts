// Equality of configuration values, for applying only what changed. Structural (node:util's
// isDeepStrictEqual: key order does not matter, Buffers and typed arrays compare by content).
// Rejected alternative: comparing JSON.stringify texts, which depends on key order and turns a
// Buffer key into a number list.

import { isDeepStrictEqual } from 'node:util';
import type { PeerSettings, ReflectorSettings } from './types.js';

export function samePeerSettings(a: PeerSettings, b: PeerSettings): boolean {
  return isDeepStrictEqual(a, b);
}

/** The reflector's identity (AS, router id, cluster id, listen): a change needs new sessions everywhere. */
export function sameIdentity(a: ReflectorSettings, b: ReflectorSettings): boolean {
  return (
    a.asNumber === b.asNumber &&
    a.routerId === b.routerId &&
    a.clusterId === b.clusterId &&
    isDeepStrictEqual(a.listen, b.listen)
  );
}

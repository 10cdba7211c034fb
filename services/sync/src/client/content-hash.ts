// An order-independent hash of a key → value set, updated in O(1) per change: the XOR of
// SHA-256(key NUL value) over the entries. Two holders of the same entries get the same hash
// whatever order they applied them in, so an agent's state can be compared with the datastore's
// filtered view (tests do) or with another agent's without shipping the entries.
import { createHash } from 'node:crypto';

export function entryDigest(key: string, value: Uint8Array): Buffer {
  return createHash('sha256').update(key).update('\0').update(value).digest();
}

export class ContentHash {
  private readonly acc = Buffer.alloc(32);

  /** Adds or removes one entry (XOR is its own inverse). */
  toggle(key: string, value: Uint8Array): void {
    const d = entryDigest(key, value);
    for (let i = 0; i < 32; i++) this.acc[i] = this.acc[i]! ^ d[i]!;
  }

  hex(): string {
    return this.acc.toString('hex');
  }
}

/** The hash of a whole set of entries. */
export function hashEntries(entries: Iterable<readonly [string, Uint8Array]>): string {
  const h = new ContentHash();
  for (const [k, v] of entries) h.toggle(k, v);
  return h.hex();
}

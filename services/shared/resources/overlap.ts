import { cidrsOverlap, parseCidr } from './net.js';
import type { IPPool } from './types.js';

/**
 * Calico's rule that IP pools must not overlap: the reason text when `pool` overlaps any of
 * `existing` (a pool with the same name is the one being updated and is skipped), else undefined.
 * The offending field is `spec.cidr`: e.g. `new ResourceError(reason, { field: 'spec.cidr', kind:
 * 'IPPool', name })`.
 */
export function checkPoolOverlap(pool: IPPool, existing: Iterable<IPPool>): string | undefined {
  const mine = parseCidr(pool.spec.cidr);
  for (const other of existing) {
    if (other.metadata.name === pool.metadata.name) continue;
    const theirs = parseCidr(other.spec.cidr, { allowBareIp: true });
    if (cidrsOverlap(mine, theirs)) {
      return `${mine.text} overlaps IPPool '${other.metadata.name}' (${theirs.text})`;
    }
  }
  return undefined;
}

// What the reflector keeps per configured peer beside the RIB and the speaker: its settings and
// the state of its current session, which starts afresh with every session (`resetSession`).

import { isDeepStrictEqual } from 'node:util';
import type { NegotiatedOptions } from '../../../bgp/index.js';
import type { PeerSettings } from '../config/types.js';
import type { PeerKind } from '../rib/rib.js';

export function kindOf(s: PeerSettings, localAs: number): Exclude<PeerKind, 'local'> {
  if (s.asNumber !== localAs) return 'ebgp';
  return s.rrClient ? 'client' : 'ibgp';
}

/**
 * Whether two settings of one peer treat its routes the same way: kind (eBGP, client, iBGP), next
 * hop, limits and policy. When they do not, its session is reset so both sides start from a clean
 * table.
 */
export function sameRouting(a: PeerSettings, b: PeerSettings, localAs: number): boolean {
  return (
    kindOf(a, localAs) === kindOf(b, localAs) &&
    a.nextHopMode === b.nextHopMode &&
    a.maxPrefixes === b.maxPrefixes &&
    a.acceptImportByDefault === b.acceptImportByDefault &&
    isDeepStrictEqual(a.filters, b.filters)
  );
}

export class PeerEntry {
  settings: PeerSettings;
  readonly ribIdx: number;
  /** Negotiated options while Established. */
  negotiated: NegotiatedOptions | undefined;
  /** Our whole table has gone out (End-of-RIB sent or deferred). */
  synced = false;
  /** Families whose End-of-RIB waits for our own restart to finish in that family. */
  readonly eorDeferred = new Set<4 | 6>();
  /** A route refresh replay is in progress (EoRR follows when enhanced). */
  refreshing = false;
  /** Past max-prefix: updates ignored until the session is gone. */
  overLimit = false;
  /** Since when the send queue is above its high-water mark (0: it is not). */
  blockedSince = 0;
  /** Families whose End-of-RIB the peer sent since its session came up (afi 4 / 6). */
  readonly eorReceived = new Set<4 | 6>();
  /** Restarts the session after max-prefix closed it. */
  restartTimer: NodeJS.Timeout | undefined;

  constructor(settings: PeerSettings, ribIdx: number) {
    this.settings = settings;
    this.ribIdx = ribIdx;
  }

  /**
   * A session came up (`negotiated`) or went down (undefined): nothing of the previous session
   * carries over. Each of these fields is read only while a session is up (or, for `overLimit`,
   * at the moment it goes down), so clearing them at both ends is the same as clearing them when
   * the next session starts.
   */
  resetSession(negotiated: NegotiatedOptions | undefined): void {
    this.negotiated = negotiated;
    this.synced = false;
    this.eorDeferred.clear();
    this.refreshing = false;
    this.overLimit = false;
    this.blockedSince = 0;
    this.eorReceived.clear();
  }
}

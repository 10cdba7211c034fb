// A peer's import and export policy: its filters in order (Calico semantics: first matching rule
// across the filters decides), then a default for routes no rule matched:
//
//   import   iBGP: accept.   eBGP: accept only when the peer has at least one filter, else
//            reject (RFC 8212: nothing from an eBGP peer without explicit policy).
//   export   iBGP: accept (RFC 4456 reflection rules still apply).
//            eBGP: routes this reflector originates (IPAM blocks, static routes: the operator's
//            explicit intent, as Calico exports its own blocks) are accepted; learned routes only
//            when the peer has at least one filter (RFC 8212).
//
// `acceptImportByDefault` replaces the import default (datastore mode sets it: a Calico BGPPeer
// imports what the peer sends, and BGPFilter is not a datastore kind; export stays as above).

import { evaluateRules, rulesDependOnPrefix, type RouteFacts } from './evaluate.js';
import type { BgpFilter, FilterRule } from './filter.js';
import type { PathAttributes } from '../../../bgp/index.js';

export type PeerType = 'eBGP' | 'iBGP';

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x) : x));
}

export class PeerPolicy {
  /** Equal ids ⇔ identical behaviour: part of the update-group key. */
  readonly id: string;
  private readonly import4: FilterRule[];
  private readonly import6: FilterRule[];
  private readonly export4: FilterRule[];
  private readonly export6: FilterRule[];
  private readonly hasFilters: boolean;
  /** Import decisions depend only on the attribute set (cacheable per UPDATE). */
  readonly importPerAttrs: boolean;
  /** Export decisions depend only on the attribute set and origin (cacheable per group). */
  readonly exportPerAttrs: boolean;

  private readonly importDefault: boolean;

  constructor(
    readonly peerType: PeerType,
    readonly filters: readonly BgpFilter[],
    options: { acceptImportByDefault?: boolean } = {},
  ) {
    this.importDefault = options.acceptImportByDefault ?? (peerType === 'iBGP' || filters.length > 0);
    this.import4 = filters.flatMap((f) => f.importV4);
    this.import6 = filters.flatMap((f) => f.importV6);
    this.export4 = filters.flatMap((f) => f.exportV4);
    this.export6 = filters.flatMap((f) => f.exportV6);
    this.hasFilters = filters.length > 0;
    this.importPerAttrs = !rulesDependOnPrefix(this.import4) && !rulesDependOnPrefix(this.import6);
    this.exportPerAttrs = !rulesDependOnPrefix(this.export4) && !rulesDependOnPrefix(this.export6);
    this.id = `${peerType}|${this.importDefault}|${stableJson(filters)}`;
  }

  /** The attributes to store for an imported route, or undefined when rejected. */
  importRoute(f: RouteFacts): PathAttributes | undefined {
    const out = evaluateRules(f.afi === 4 ? this.import4 : this.import6, f, this.peerType);
    if (out.kind === 'accept') return out.attrs;
    if (out.kind === 'reject') return undefined;
    return this.importDefault ? f.attrs : undefined;
  }

  /**
   * Export without rules for the family: the decision is the default alone and the attributes go
   * unchanged, so the exporter may skip decoding them. Returns whether such a route is exported,
   * or undefined when rules exist (call exportRoute).
   */
  exportWithoutRules(afi: 4 | 6, originated: boolean): boolean | undefined {
    if ((afi === 4 ? this.export4 : this.export6).length > 0) return undefined;
    return this.peerType === 'iBGP' || originated || this.hasFilters;
  }

  /** The attributes to send (before the protocol's own changes), or undefined when not exported. */
  exportRoute(f: RouteFacts): PathAttributes | undefined {
    const out = evaluateRules(f.afi === 4 ? this.export4 : this.export6, f, this.peerType);
    if (out.kind === 'accept') return out.attrs;
    if (out.kind === 'reject') return undefined;
    return this.peerType === 'iBGP' || f.originated || this.hasFilters ? f.attrs : undefined;
  }
}

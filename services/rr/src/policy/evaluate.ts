// Evaluation of compiled filter rules against one route, and the operations of an accepting rule.
// Pure functions over codec PathAttributes; never throws.

import { AsPathSegmentType, type AsPathSegment, type PathAttributes } from '../../../bgp/index.js';
import { PRIORITY_BASE, type CidrMatch, type CommunityValue, type FilterOperation, type FilterRule } from './filter.js';

/** What a rule can look at. `network` is the full 4- or 16-octet address. */
export interface RouteFacts {
  readonly afi: 4 | 6;
  readonly network: Uint8Array;
  readonly length: number;
  readonly attrs: PathAttributes;
  /** Originated by this reflector (IPAM block, static route), not learned from a peer. */
  readonly originated: boolean;
}

export type RuleOutcome =
  | { readonly kind: 'accept'; readonly attrs: PathAttributes }
  | { readonly kind: 'reject' }
  | { readonly kind: 'no-match' };

const NO_MATCH: RuleOutcome = { kind: 'no-match' };
const REJECT: RuleOutcome = { kind: 'reject' };

/** True when the first `bits` bits of a and b are equal. */
function samePrefixBits(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >> rest) & 0xff;
  return ((a[whole] ?? 0) & mask) === ((b[whole] ?? 0) & mask);
}

function cidrMatches(m: CidrMatch, f: RouteFacts): boolean {
  if (m.network.length !== f.network.length) return false;
  const equal = f.length === m.length && samePrefixBits(m.network, f.network, m.length);
  const within =
    f.length >= m.minLength &&
    f.length <= m.maxLength &&
    f.length >= m.length &&
    samePrefixBits(m.network, f.network, m.length);
  switch (m.op) {
    case 'Equal':
      return equal;
    case 'NotEqual':
      return !equal;
    case 'In':
      return within;
    case 'NotIn':
      return !within;
  }
}

export function hasCommunity(attrs: PathAttributes, c: CommunityValue): boolean {
  if (c.kind === 'standard') return attrs.communities?.includes(c.value) ?? false;
  const l = c.value;
  return (
    attrs.largeCommunities?.some(
      (x) => x.globalAdmin === l.globalAdmin && x.localData1 === l.localData1 && x.localData2 === l.localData2,
    ) ?? false
  );
}

function asPathStartsWith(attrs: PathAttributes, prefix: readonly number[]): boolean {
  let i = 0;
  for (const seg of attrs.asPath) {
    if (seg.type !== AsPathSegmentType.AsSequence) return false;
    for (const asn of seg.asns) {
      if (asn !== prefix[i]) return false;
      if (++i === prefix.length) return true;
    }
  }
  return false;
}

function ruleMatches(r: FilterRule, f: RouteFacts, peerType: 'eBGP' | 'iBGP'): boolean {
  if (r.interface !== undefined) return false;
  if (r.peerType !== undefined && r.peerType !== peerType) return false;
  if (r.remotePeersOnly && f.originated) return false;
  if (r.cidr && !cidrMatches(r.cidr, f)) return false;
  if (r.community && !hasCommunity(f.attrs, r.community)) return false;
  if (r.asPathPrefix && !asPathStartsWith(f.attrs, r.asPathPrefix)) return false;
  if (r.priority !== undefined && PRIORITY_BASE - (f.attrs.localPref ?? 0) !== r.priority) return false;
  return true;
}

export function addCommunity(attrs: PathAttributes, c: CommunityValue): PathAttributes {
  if (hasCommunity(attrs, c)) return attrs;
  if (c.kind === 'standard') return { ...attrs, communities: [...(attrs.communities ?? []), c.value] };
  return { ...attrs, largeCommunities: [...(attrs.largeCommunities ?? []), c.value] };
}

/** Prepends ASNs as an AS_SEQUENCE (RFC 4271 §5.1.2), merging into a leading sequence up to 255. */
export function prependAsPath(attrs: PathAttributes, asns: readonly number[]): PathAttributes {
  const head = attrs.asPath[0];
  let asPath: AsPathSegment[];
  if (head && head.type === AsPathSegmentType.AsSequence && head.asns.length + asns.length <= 255) {
    asPath = [{ type: AsPathSegmentType.AsSequence, asns: [...asns, ...head.asns] }, ...attrs.asPath.slice(1)];
  } else {
    asPath = [{ type: AsPathSegmentType.AsSequence, asns: [...asns] }, ...attrs.asPath];
  }
  return { ...attrs, asPath };
}

function applyOperations(attrs: PathAttributes, ops: readonly FilterOperation[]): PathAttributes {
  let a = attrs;
  for (const op of ops) {
    switch (op.kind) {
      case 'addCommunity':
        a = addCommunity(a, op.community);
        break;
      case 'prependAsPath':
        a = prependAsPath(a, op.asns);
        break;
      case 'setPriority':
        a = { ...a, localPref: PRIORITY_BASE - op.priority };
        break;
    }
  }
  return a;
}

/** The first matching rule decides; `no-match` when none does. */
export function evaluateRules(rules: readonly FilterRule[], f: RouteFacts, peerType: 'eBGP' | 'iBGP'): RuleOutcome {
  for (const r of rules) {
    if (!ruleMatches(r, f, peerType)) continue;
    if (r.action === 'Reject') return REJECT;
    return { kind: 'accept', attrs: r.operations.length ? applyOperations(f.attrs, r.operations) : f.attrs };
  }
  return NO_MATCH;
}

/** True when some rule looks at the prefix (then evaluation is per prefix, not per attribute set). */
export function rulesDependOnPrefix(rules: readonly FilterRule[]): boolean {
  return rules.some((r) => r.cidr !== undefined);
}

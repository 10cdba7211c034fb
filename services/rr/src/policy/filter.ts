// Route filters with Calico BGPFilter semantics (projectcalico.org/v3 BGPFilter): per address
// family an ordered list of rules for import and for export; the first rule that matches decides
// (Accept, after its operations, or Reject); a route no rule matches falls through to the next
// filter of the peer and finally to the peer's default (see peer-policy.ts). This file turns the
// Calico spec (from rr.yaml or the datastore) into compiled rules, naming the field of every
// error; evaluation is in evaluate.ts.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { LargeCommunity } from '../../../bgp/index.js';

export type MatchOperator = 'Equal' | 'NotEqual' | 'In' | 'NotIn';

/** A standard (RFC 1997) or large (RFC 8092) community value. */
export type CommunityValue =
  | { readonly kind: 'standard'; readonly value: number }
  | { readonly kind: 'large'; readonly value: LargeCommunity };

export type FilterOperation =
  | { readonly kind: 'addCommunity'; readonly community: CommunityValue }
  | { readonly kind: 'prependAsPath'; readonly asns: readonly number[] }
  | { readonly kind: 'setPriority'; readonly priority: number };

export interface CidrMatch {
  /** Network octets, 4 or 16. */
  readonly network: Uint8Array;
  readonly length: number;
  readonly op: MatchOperator;
  readonly minLength: number;
  readonly maxLength: number;
}

export interface FilterRule {
  readonly cidr?: CidrMatch;
  /** Export: only routes learned from BGP peers (not originated here). */
  readonly remotePeersOnly: boolean;
  /** Routes carry no outgoing interface on a reflector: a rule with one never matches. */
  readonly interface?: string;
  readonly peerType?: 'eBGP' | 'iBGP';
  readonly community?: CommunityValue;
  readonly asPathPrefix?: readonly number[];
  readonly priority?: number;
  readonly action: 'Accept' | 'Reject';
  readonly operations: readonly FilterOperation[];
}

export interface BgpFilter {
  readonly name: string;
  readonly importV4: readonly FilterRule[];
  readonly exportV4: readonly FilterRule[];
  readonly importV6: readonly FilterRule[];
  readonly exportV6: readonly FilterRule[];
}

/** Calico's route priority ↔ LOCAL_PREF encoding (confd: krt_metric = 2^31 - 1 - bgp_local_pref). */
export const PRIORITY_BASE = 2147483647;

const MAX_PRIORITY = 2147483646;

function fail(field: string, why: string): never {
  throw new InvalidArgumentError(`${field}: ${why}`, { field });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function uint(v: unknown, field: string, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max)
    fail(field, `must be an integer 0..${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** "aa:nn" (two 16-bit values) or "aa:nn:mm" (three 32-bit values). */
export function parseCommunity(text: unknown, field: string): CommunityValue {
  if (typeof text !== 'string' || !/^\d+:\d+(:\d+)?$/.test(text)) {
    fail(field, `must be a community "aa:nn" or a large community "aa:nn:mm", got ${JSON.stringify(text)}`);
  }
  const parts = text.split(':').map(Number);
  if (parts.length === 2) {
    if (parts[0]! > 0xffff || parts[1]! > 0xffff)
      fail(field, `standard community parts must be 0..65535, got "${text}"`);
    return { kind: 'standard', value: (parts[0]! * 0x10000 + parts[1]!) >>> 0 };
  }
  if (parts.some((p) => p > 0xffffffff)) fail(field, `large community parts must be 0..4294967295, got "${text}"`);
  return { kind: 'large', value: { globalAdmin: parts[0]!, localData1: parts[1]!, localData2: parts[2]! } };
}

export function communityToString(c: CommunityValue): string {
  return c.kind === 'standard'
    ? `${c.value >>> 16}:${c.value & 0xffff}`
    : `${c.value.globalAdmin}:${c.value.localData1}:${c.value.localData2}`;
}

function parseCidr(text: unknown, afi: 4 | 6, field: string): { network: Uint8Array; length: number } {
  if (typeof text !== 'string') fail(field, `must be a CIDR string, got ${JSON.stringify(text)}`);
  const slash = text.indexOf('/');
  if (slash < 0) fail(field, `"${text}" has no /length`);
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const max = afi === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) fail(field, `"${text}" has a bad prefix length (0..${max})`);
  const length = Number(lenText);
  const network = afi === 4 ? parseV4(addr, field) : parseV6(addr, field);
  // Calico accepts host bits in filter CIDRs and masks them (BIRD's net ~ [a/b] does too).
  for (let bit = length; bit < max; bit++) network[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { network, length };
}

function parseV4(text: string, field: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) {
    fail(field, `"${text}" is not an IPv4 address`);
  }
  return new Uint8Array(parts.map(Number));
}

function parseV6(text: string, field: string): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2 || text.includes('.')) fail(field, `"${text}" is not an IPv6 address`);
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0 || (halves.length === 2 && missing < 1)) {
    fail(field, `"${text}" is not an IPv6 address`);
  }
  const words = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) fail(field, `"${text}" is not an IPv6 address (group "${w}")`);
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  return out;
}

const RULE_FIELDS = new Set([
  'cidr',
  'prefixLength',
  'source',
  'interface',
  'matchOperator',
  'peerType',
  'communities',
  'asPathPrefix',
  'priority',
  'action',
  'operations',
]);

function parseRule(raw: unknown, afi: 4 | 6, field: string): FilterRule {
  if (!isRecord(raw)) fail(field, 'must be a mapping');
  for (const k of Object.keys(raw)) if (!RULE_FIELDS.has(k)) fail(`${field}.${k}`, 'unknown field');
  const max = afi === 4 ? 32 : 128;
  const action = raw.action;
  if (action !== 'Accept' && action !== 'Reject')
    fail(`${field}.action`, `must be Accept or Reject, got ${JSON.stringify(action)}`);
  const hasCidr = raw.cidr !== undefined && raw.cidr !== '';
  const hasOp = raw.matchOperator !== undefined && raw.matchOperator !== '';
  if (hasCidr !== hasOp)
    fail(
      hasCidr ? `${field}.matchOperator` : `${field}.cidr`,
      'cidr and matchOperator must both be set or both be empty',
    );
  if (raw.prefixLength !== undefined && !hasCidr)
    fail(`${field}.prefixLength`, 'cidr is required when prefixLength is set');
  let cidr: CidrMatch | undefined;
  if (hasCidr) {
    const op = raw.matchOperator;
    if (op !== 'Equal' && op !== 'NotEqual' && op !== 'In' && op !== 'NotIn') {
      fail(`${field}.matchOperator`, `must be Equal, NotEqual, In or NotIn, got ${JSON.stringify(op)}`);
    }
    const { network, length } = parseCidr(raw.cidr, afi, `${field}.cidr`);
    let minLength = length;
    let maxLength = max;
    if (raw.prefixLength !== undefined) {
      const pl = raw.prefixLength;
      if (!isRecord(pl)) fail(`${field}.prefixLength`, 'must be a mapping with min and/or max');
      for (const k of Object.keys(pl))
        if (k !== 'min' && k !== 'max') fail(`${field}.prefixLength.${k}`, 'unknown field');
      if (pl.min !== undefined) minLength = uint(pl.min, `${field}.prefixLength.min`, max);
      if (pl.max !== undefined) maxLength = uint(pl.max, `${field}.prefixLength.max`, max);
      if (minLength > maxLength) fail(`${field}.prefixLength`, `min ${minLength} is greater than max ${maxLength}`);
    }
    cidr = { network, length, op, minLength, maxLength };
  }
  if (raw.source !== undefined && raw.source !== '' && raw.source !== 'RemotePeers') {
    fail(`${field}.source`, `must be RemotePeers, got ${JSON.stringify(raw.source)}`);
  }
  if (raw.interface !== undefined && typeof raw.interface !== 'string') fail(`${field}.interface`, 'must be a string');
  if (raw.peerType !== undefined && raw.peerType !== '' && raw.peerType !== 'eBGP' && raw.peerType !== 'iBGP') {
    fail(`${field}.peerType`, `must be eBGP or iBGP, got ${JSON.stringify(raw.peerType)}`);
  }
  let community: CommunityValue | undefined;
  if (raw.communities !== undefined) {
    const c = raw.communities;
    if (!isRecord(c) || !Array.isArray(c.values) || c.values.length !== 1) {
      fail(`${field}.communities.values`, 'must hold exactly one community value');
    }
    community = parseCommunity(c.values[0], `${field}.communities.values[0]`);
  }
  let asPathPrefix: number[] | undefined;
  if (raw.asPathPrefix !== undefined) {
    if (!Array.isArray(raw.asPathPrefix) || raw.asPathPrefix.length === 0)
      fail(`${field}.asPathPrefix`, 'must be a non-empty list of AS numbers');
    asPathPrefix = raw.asPathPrefix.map((a, i) => uint(a, `${field}.asPathPrefix[${i}]`, 0xffffffff));
  }
  let priority: number | undefined;
  if (raw.priority !== undefined) {
    priority = uint(raw.priority, `${field}.priority`, MAX_PRIORITY);
    if (priority < 1) fail(`${field}.priority`, 'must be 1..2147483646');
  }
  const operations: FilterOperation[] = [];
  if (raw.operations !== undefined) {
    if (!Array.isArray(raw.operations) || raw.operations.length < 1 || raw.operations.length > 10) {
      fail(`${field}.operations`, 'must be a list of 1 to 10 operations');
    }
    if (action !== 'Accept') fail(`${field}.operations`, 'operations may only be used with action Accept');
    raw.operations.forEach((o: unknown, i: number) => operations.push(parseOperation(o, `${field}.operations[${i}]`)));
  }
  return {
    ...(cidr ? { cidr } : {}),
    remotePeersOnly: raw.source === 'RemotePeers',
    ...(typeof raw.interface === 'string' && raw.interface !== '' ? { interface: raw.interface } : {}),
    ...(raw.peerType === 'eBGP' || raw.peerType === 'iBGP' ? { peerType: raw.peerType } : {}),
    ...(community ? { community } : {}),
    ...(asPathPrefix ? { asPathPrefix } : {}),
    ...(priority !== undefined ? { priority } : {}),
    action,
    operations,
  };
}

function parseOperation(raw: unknown, field: string): FilterOperation {
  if (!isRecord(raw)) fail(field, 'must be a mapping');
  const keys = Object.keys(raw);
  if (keys.length !== 1) fail(field, 'exactly one of addCommunity, prependASPath, setPriority must be set');
  const k = keys[0]!;
  const v = raw[k];
  switch (k) {
    case 'addCommunity':
      if (!isRecord(v)) fail(`${field}.addCommunity`, 'must be a mapping with value');
      return { kind: 'addCommunity', community: parseCommunity(v.value, `${field}.addCommunity.value`) };
    case 'prependASPath': {
      if (!isRecord(v) || !Array.isArray(v.prefix) || v.prefix.length === 0) {
        fail(`${field}.prependASPath.prefix`, 'must be a non-empty list of AS numbers');
      }
      return {
        kind: 'prependAsPath',
        asns: v.prefix.map((a, i) => uint(a, `${field}.prependASPath.prefix[${i}]`, 0xffffffff)),
      };
    }
    case 'setPriority': {
      if (!isRecord(v)) fail(`${field}.setPriority`, 'must be a mapping with value');
      const p = uint(v.value, `${field}.setPriority.value`, MAX_PRIORITY);
      if (p < 1) fail(`${field}.setPriority.value`, 'must be 1..2147483646');
      return { kind: 'setPriority', priority: p };
    }
    default:
      fail(`${field}.${k}`, 'unknown operation (addCommunity, prependASPath, setPriority)');
  }
}

/** Compiles a Calico BGPFilter spec (the `spec` object) named `name`; `field` prefixes errors. */
export function parseBgpFilter(name: string, spec: unknown, field = `filters.${name}`): BgpFilter {
  if (!isRecord(spec)) fail(field, 'must be a mapping with exportV4/importV4/exportV6/importV6');
  const lists = { importV4: 4, exportV4: 4, importV6: 6, exportV6: 6 } as const;
  for (const k of Object.keys(spec))
    if (!(k in lists)) fail(`${field}.${k}`, 'unknown field (exportV4, importV4, exportV6, importV6)');
  const out: Record<string, FilterRule[]> = {};
  for (const [k, afi] of Object.entries(lists)) {
    const raw = spec[k];
    if (raw === undefined || raw === null) {
      out[k] = [];
      continue;
    }
    if (!Array.isArray(raw)) fail(`${field}.${k}`, 'must be a list of rules');
    out[k] = raw.map((r, i) => parseRule(r, afi, `${field}.${k}[${i}]`));
  }
  return { name, importV4: out.importV4!, exportV4: out.exportV4!, importV6: out.importV6!, exportV6: out.exportV6! };
}

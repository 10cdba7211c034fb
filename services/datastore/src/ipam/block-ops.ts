// Address operations on one IPAMBlock's spec, Calico's encoding (pure functions, no I/O):
//   allocations[i]  index into attributes of the address at ordinal i, or null when free
//   unallocated     the free ordinals, in the order they are handed out: assignment takes from
//                   the front, release appends at the back (Calico's order, so a released
//                   address is the last to be reused and a stale ARP/conntrack entry ages out)
//   attributes      {handle_id, secondary} shared by every allocation that has the same values;
//                   an attribute no allocation refers to any more is removed and the indices
//                   after it shift down (Calico's deleteAttributes), so the list never grows
//                   with churn.
// Every function validates before it mutates, so a throw leaves the spec untouched.
import { AlreadyExistsError } from '../../../shared/errors/index.js';
import { addressAt, addressOrdinal, ipToString, type IpAddress } from '../../../shared/resources/index.js';

export interface AllocationAttribute {
  handle_id?: string;
  secondary?: Record<string, string>;
  [field: string]: unknown;
}

/** The mutable part of an IPAMBlock spec that address operations touch. */
export interface BlockSpec {
  cidr: string;
  affinity?: string;
  strictAffinity?: boolean;
  allocations: (number | null)[];
  unallocated: number[];
  attributes: AllocationAttribute[];
  [field: string]: unknown;
}

export function freeCount(spec: BlockSpec): number {
  return spec.unallocated.length;
}

export function inUseCount(spec: BlockSpec): number {
  return spec.allocations.length - spec.unallocated.length;
}

/** The node named by spec.affinity `host:NODE`, or undefined. */
export function blockOwner(spec: BlockSpec): string | undefined {
  return typeof spec.affinity === 'string' && spec.affinity.startsWith('host:') ? spec.affinity.slice(5) : undefined;
}

function sameAttribute(a: AllocationAttribute, b: AllocationAttribute): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function attributeIndex(spec: BlockSpec, attr: AllocationAttribute): number {
  const i = spec.attributes.findIndex((a) => sameAttribute(a, attr));
  if (i >= 0) return i;
  spec.attributes.push(attr);
  return spec.attributes.length - 1;
}

/** Takes up to `n` free addresses from the front of `unallocated`; returns their ordinals. */
export function assignFree(spec: BlockSpec, n: number, attr: AllocationAttribute): number[] {
  const take = Math.min(n, spec.unallocated.length);
  if (take === 0) return [];
  const ordinals = spec.unallocated.splice(0, take);
  const index = attributeIndex(spec, attr);
  for (const o of ordinals) spec.allocations[o] = index;
  return ordinals;
}

/** Assigns one given ordinal; AlreadyExistsError when it is in use. */
export function assignOrdinal(spec: BlockSpec, ordinal: number, attr: AllocationAttribute): void {
  if (ordinal < 0 || ordinal >= spec.allocations.length)
    throw new RangeError(`ordinal ${ordinal} is outside ${spec.cidr}`);
  const current = spec.allocations[ordinal];
  if (current !== null && current !== undefined) {
    const owner = spec.attributes[current]?.handle_id;
    throw new AlreadyExistsError(
      `${ipToString(addressAt(spec.cidr, ordinal))} is already allocated${owner ? ` (handle '${owner}')` : ''}`,
    );
  }
  const at = spec.unallocated.indexOf(ordinal);
  if (at >= 0) spec.unallocated.splice(at, 1);
  spec.allocations[ordinal] = attributeIndex(spec, attr);
}

export interface Released {
  ordinal: number;
  /** The handle the address belonged to, when recorded. */
  handleId: string | undefined;
}

/** Frees the given ordinals (those not in use are skipped) and drops unused attributes. */
export function releaseOrdinals(spec: BlockSpec, ordinals: readonly number[]): Released[] {
  const released: Released[] = [];
  for (const o of ordinals) {
    const index = spec.allocations[o];
    if (index === null || index === undefined) continue;
    released.push({ ordinal: o, handleId: spec.attributes[index]?.handle_id });
    spec.allocations[o] = null;
    spec.unallocated.push(o);
  }
  if (released.length > 0) dropUnusedAttributes(spec);
  return released;
}

/** The ordinals allocated to a handle. */
export function ordinalsOfHandle(spec: BlockSpec, handleId: string): number[] {
  const indices = new Set<number>();
  spec.attributes.forEach((a, i) => a.handle_id === handleId && indices.add(i));
  if (indices.size === 0) return [];
  const out: number[] = [];
  spec.allocations.forEach((a, o) => a !== null && indices.has(a) && out.push(o));
  return out;
}

export function ordinalOf(spec: BlockSpec, ip: IpAddress | string): number | undefined {
  const o = addressOrdinal(spec.cidr, ip);
  return o === undefined ? undefined : Number(o);
}

export function addressOf(spec: BlockSpec, ordinal: number): string {
  return ipToString(addressAt(spec.cidr, ordinal));
}

/** The attribute of the address at `ordinal`, or undefined when it is free. */
export function attributeAt(spec: BlockSpec, ordinal: number): AllocationAttribute | undefined {
  const index = spec.allocations[ordinal];
  return index === null || index === undefined ? undefined : spec.attributes[index];
}

function dropUnusedAttributes(spec: BlockSpec): void {
  const used = new Set<number>();
  for (const a of spec.allocations) if (a !== null) used.add(a);
  if (used.size === spec.attributes.length) return;
  const remap = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  spec.attributes.forEach((a, i) => {
    if (!used.has(i)) return;
    remap.set(i, kept.length);
    kept.push(a);
  });
  spec.attributes = kept;
  spec.allocations = spec.allocations.map((a) => (a === null ? null : remap.get(a)!));
}

// Seeded randomness for the BGP benchmarks (bench:bgp's tables, bench:bgp-codec's): the same
// seed gives the same table on every run and machine, so runs compare.

/** Deterministic xorshift32 in [0, 1); seed 0 means the default seed. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

/** Prefix length → its share of a table; the shares sum to at most 1. */
export type LengthMix = readonly (readonly [length: number, share: number])[];

/** A prefix length drawn from `mix`; what the shares leave over goes to `rest`. */
export function drawLength(mix: LengthMix, rand: () => number, rest = 24): number {
  let r = rand();
  for (const [length, share] of mix) {
    if (r < share) return length;
    r -= share;
  }
  return rest;
}

/** A random IPv4 network (host bits zero) of `length` bits, as an unsigned 32-bit number. */
export function randomNetwork(length: number, rand: () => number): number {
  return (Math.floor(rand() * 0x100000000) & (length === 0 ? 0 : ~0 << (32 - length))) >>> 0;
}

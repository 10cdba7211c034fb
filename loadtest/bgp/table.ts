// The route table the injector announces, generated deterministically from a seed.
//
// Two shapes:
//   --sets 1 (default), --prefix-mix dc: N distinct /26 blocks with one attribute set (the
//     original benchmark: the best case for interning and update groups).
//   --sets S: S distinct attribute sets shaped like a real table's: AS paths of 2-6 ASNs (15 % of
//     them 4-octet), 0-4 communities, MED on 30 %, a large community on 10 %; spread over the N
//     prefixes heavy-tailed: every set carries one prefix, the other N - S go to set rank r with
//     probability ~ 1/r (Zipf, s = 1), so a few sets carry thousands and most carry 1-3 (at
//     300k × 100k: ~70 % carry exactly one, ~93 % at most three, the largest ~16,000).
//   --prefix-mix internet: prefix lengths as in a full Internet table (58 % /24, the rest /16-/23
//     and some /26), random networks in 1.0.0.0-223.255.255.255.
//
// Generation is a few hundred milliseconds at 1M routes: xorshift32, typed arrays, one Set of
// numbers for distinctness, one BIRD filter block string per set (not per route).
import { drawLength, randomNetwork, xorshift32, type LengthMix } from '../random.js';

export type PrefixMix = 'dc' | 'internet';

export interface TableSpec {
  readonly routes: number;
  readonly sets: number;
  readonly mix: PrefixMix;
  readonly seed: number;
}

export interface AttrSpec {
  /** AS_SEQUENCE, leftmost (neighbour) first. */
  readonly asPath: readonly number[];
  readonly communities: readonly (readonly [number, number])[];
  readonly med: number | undefined;
  readonly large: readonly (readonly [number, number, number])[];
}

export interface Table {
  /** IPv4 network as uint32, per route. */
  readonly network: Uint32Array;
  readonly length: Uint8Array;
  /** Attribute set index per route. */
  readonly setOf: Uint32Array;
  readonly sets: readonly AttrSpec[];
}

/** Prefix lengths roughly as in a full Internet table (mostly /24), plus data-center /26 blocks. */
const INTERNET_LENGTHS: LengthMix = [
  [24, 0.6],
  [23, 0.07],
  [22, 0.1],
  [21, 0.04],
  [20, 0.04],
  [19, 0.03],
  [18, 0.02],
  [17, 0.01],
  [16, 0.02],
  [26, 0.07],
];

function dcPrefixes(n: number): { network: Uint32Array; length: Uint8Array } {
  const network = new Uint32Array(n);
  for (let i = 0; i < n; i++)
    network[i] =
      ((10 + (i >> 18)) * 2 ** 24 + (((i >> 10) & 255) << 16) + (((i >> 2) & 255) << 8) + (i & 3) * 64) >>> 0;
  return { network, length: new Uint8Array(n).fill(26) };
}

function internetPrefixes(n: number, rand: () => number): { network: Uint32Array; length: Uint8Array } {
  const network = new Uint32Array(n);
  const length = new Uint8Array(n);
  const seen = new Set<number>();
  let i = 0;
  while (i < n) {
    const len = drawLength(INTERNET_LENGTHS, rand);
    const addr = randomNetwork(len, rand);
    const top = addr >>> 24;
    if (top === 0 || top === 10 || top === 127 || top >= 224) continue;
    const key = addr * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    network[i] = addr;
    length[i] = len;
    i++;
  }
  return { network, length };
}

/** FNV-1a over 32-bit words, for telling generated sets apart without building text keys. */
function mix(h: number, v: number): number {
  return Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
}

function attrSets(n: number, rand: () => number): AttrSpec[] {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  // Distinct by a 32-bit hash: a collision only rejects a set that was probably distinct anyway,
  // and the next draw replaces it (still deterministic).
  const seen = new Set<number>();
  const out: AttrSpec[] = [];
  while (out.length < n) {
    const asPath = Array.from({ length: int(2, 6) }, () =>
      rand() < 0.15 ? int(131072, 4_200_000_000) : int(1, 64511),
    );
    const communities = Array.from({ length: int(0, 4) }, () => [int(1, 65535), int(0, 65535)] as const);
    const med = rand() < 0.3 ? int(0, 1000) : undefined;
    const large = rand() < 0.1 ? [[asPath[0]!, int(1, 100), int(1, 100)] as const] : [];
    let h = mix(0x811c9dc5, asPath.length);
    for (const a of asPath) h = mix(h, a);
    h = mix(h, communities.length);
    for (const [x, y] of communities) h = mix(h, x * 65536 + y);
    h = mix(mix(h, med ?? -1), large.length ? large[0]![1] * 256 + large[0]![2] : -1);
    if (seen.has(h)) continue;
    seen.add(h);
    out.push({ asPath, communities, med, large });
  }
  return out;
}

export function generateTable(spec: TableSpec): Table {
  const rand = xorshift32(spec.seed);
  const { network, length } = spec.mix === 'dc' ? dcPrefixes(spec.routes) : internetPrefixes(spec.routes, rand);
  const setOf = new Uint32Array(spec.routes);
  if (spec.sets <= 1)
    return { network, length, setOf, sets: [{ asPath: [], communities: [], med: undefined, large: [] }] };
  const S = spec.sets;
  const logS = Math.log(S + 1);
  for (let i = 0; i < spec.routes; i++) {
    // Every set carries at least one prefix; the rest follow ~1/rank (inverse CDF of 1/x on [1, S+1)).
    setOf[i] = i < S ? i : Math.min(S - 1, Math.floor(Math.exp(rand() * logS)) - 1);
  }
  // Shuffle so a set's prefixes are not adjacent in the injector's table (Fisher-Yates).
  for (let i = spec.routes - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = setOf[i]!;
    setOf[i] = setOf[j]!;
    setOf[j] = t;
  }
  return { network, length, setOf, sets: attrSets(S, rand) };
}

/** How many prefixes each set carries, as a histogram summary (for the log and RESULTS.md). */
export function describeTable(t: Table): string {
  const counts = new Uint32Array(t.sets.length);
  for (let i = 0; i < t.setOf.length; i++) counts[t.setOf[i]!]!++;
  const sorted = Array.from(counts).sort((a, b) => b - a);
  const atMost3 = sorted.filter((c) => c <= 3).length;
  const lengths = new Map<number, number>();
  for (let i = 0; i < t.length.length; i++) lengths.set(t.length[i]!, (lengths.get(t.length[i]!) ?? 0) + 1);
  const mix = [...lengths]
    .sort((a, b) => a[0] - b[0])
    .map(([l, c]) => `/${l} ${((100 * c) / t.length.length).toFixed(0)}%`);
  return `${t.setOf.length} prefixes, ${t.sets.length} attribute sets (largest ${sorted.slice(0, 3).join(', ')}; ${((100 * atMost3) / t.sets.length).toFixed(0)}% carry 1-3); ${mix.join(' ')}`;
}

/** The body of a BIRD 2 filter function that gives a route the set's attributes ('' for none). */
function birdBody(a: AttrSpec): string {
  const s: string[] = [];
  for (let i = a.asPath.length - 1; i >= 0; i--) s.push(`bgp_path.prepend(${a.asPath[i]});`);
  for (const [x, y] of a.communities) s.push(`bgp_community.add((${x},${y}));`);
  for (const [x, y, z] of a.large) s.push(`bgp_large_community.add((${x},${y},${z}));`);
  if (a.med !== undefined) s.push(`bgp_med = ${a.med};`);
  return s.join(' ');
}

/** Decimal text of 0..255 as bytes (for writing dotted quads without strings). */
const DECIMAL = Array.from({ length: 256 }, (_, i) => Buffer.from(String(i), 'latin1'));

/**
 * BIRD 2 configuration announcing the table: a static protocol `name` (disabled) whose routes
 * carry their set's attributes in a filter block. Written as bytes into one buffer (~210 MB at
 * 1M routes; building it from per-line strings took most of the generation time in GC).
 * Rejected: one filter function per set called from each route (a tenth of the text), since
 * BIRD 2.0.12 parses 100,000 functions in quadratic time (minutes); inline blocks parse in ~4 s
 * at 300k routes.
 */
export function birdStaticConfig(t: Table, name: string): string {
  const tails = t.sets.map((a) => {
    const body = birdBody(a);
    return Buffer.from(body ? ` blackhole { ${body} };\n` : ' blackhole;\n', 'latin1');
  });
  const head = Buffer.from(`protocol static ${name} { ipv4; disabled;\n`, 'latin1');
  const ROUTE = Buffer.from('route ', 'latin1');
  let size = head.length + 2;
  for (let i = 0; i < t.network.length; i++) size += ROUTE.length + 15 + 3 + tails[t.setOf[i]!]!.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  // Byte loops, not Buffer#copy: a native call per few octets costs more than the copy.
  const put = (b: Uint8Array): void => {
    for (let j = 0; j < b.length; j++) out[o + j] = b[j]!;
    o += b.length;
  };
  put(head);
  for (let i = 0; i < t.network.length; i++) {
    const n = t.network[i]!;
    put(ROUTE);
    put(DECIMAL[n >>> 24]!);
    out[o++] = 46;
    put(DECIMAL[(n >>> 16) & 255]!);
    out[o++] = 46;
    put(DECIMAL[(n >>> 8) & 255]!);
    out[o++] = 46;
    put(DECIMAL[n & 255]!);
    out[o++] = 47;
    put(DECIMAL[t.length[i]!]!);
    put(tails[t.setOf[i]!]!);
  }
  out[o++] = 125;
  out[o++] = 10;
  return out.toString('latin1', 0, o);
}

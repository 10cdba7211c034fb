// Best-path selection: RFC 4271 §9.1.2 with the RFC 4456 §9 tie-breakers, written as the RFC's
// own elimination steps over the candidate set, so the result depends only on the set, never on
// the order routes arrived in (the classic MED non-transitivity problem cannot arise: MED removes
// candidates only against others from the same neighbour AS, as "deterministic MED" does).
//
//   0. not LLGR_STALE                 (RFC 9494 §4.3: stale routes are least preferred)
//   1. originated here                (a reflector's own routes beat learned copies, as BIRD's
//                                      protocol preference ranks static over BGP)
//   2. highest LOCAL_PREF             (§9.1.1)
//   3. shortest AS_PATH               (§9.1.2.2 a)
//   4. lowest ORIGIN                  (§9.1.2.2 b)
//   5. lowest MED per neighbour AS    (§9.1.2.2 c; or over all routes with alwaysCompareMed)
//   6. eBGP over iBGP                 (§9.1.2.2 d)
//      (IGP cost to the next hop, §9.1.2.2 e: a reflector has no IGP, all equal)
//   7. lowest ORIGINATOR_ID, else the peer's BGP identifier (§9.1.2.2 f, RFC 4456 §9)
//   8. shortest CLUSTER_LIST          (RFC 4456 §9)
//   9. lowest peer address            (§9.1.2.2 g)
//  10. lowest received path id        (RFC 7911: several paths from one peer)

/** The best-path inputs of a route's attribute set (an AttrSet view has them). */
export interface SetFields {
  readonly llgrStale: boolean;
  readonly localPref: number;
  readonly asPathLength: number;
  readonly origin: number;
  readonly med: number;
  readonly neighborAs: number;
  readonly clusterListLength: number;
}

export interface Candidate {
  readonly route: number;
  readonly set: SetFields;
  readonly originated: boolean;
  readonly ebgp: boolean;
  /** ORIGINATOR_ID if present, else the sending peer's BGP identifier (uint32). */
  readonly routerId: number;
  /** Orders peers by address: IPv4 before IPv6, then numerically. */
  readonly peerOrder: string;
  readonly pathId: number;
}

export interface SelectionOptions {
  /** Compare MED between routes from different neighbour ASes too (BIRD `med metric`). */
  readonly alwaysCompareMed: boolean;
}

type Key = (c: Candidate) => number;

function keepMin(cs: Candidate[], key: Key): Candidate[] {
  let min = Infinity;
  for (const c of cs) {
    const k = key(c);
    if (k < min) min = k;
  }
  let n = 0;
  for (const c of cs) if (key(c) === min) cs[n++] = c;
  cs.length = n;
  return cs;
}

function medStep(cs: Candidate[], always: boolean): Candidate[] {
  if (always) return keepMin(cs, (c) => c.set.med);
  const minByAs = new Map<number, number>();
  for (const c of cs) {
    const m = minByAs.get(c.set.neighborAs);
    if (m === undefined || c.set.med < m) minByAs.set(c.set.neighborAs, c.set.med);
  }
  let n = 0;
  for (const c of cs) if (c.set.med === minByAs.get(c.set.neighborAs)) cs[n++] = c;
  cs.length = n;
  return cs;
}

/** The best candidate; `cands` must not be empty and is not modified. */
export function selectBest(cands: readonly Candidate[], opts: SelectionOptions): Candidate {
  if (cands.length === 1) return cands[0]!;
  let cs = cands.slice();
  cs = keepMin(cs, (c) => (c.set.llgrStale ? 1 : 0));
  if (cs.length > 1) cs = keepMin(cs, (c) => (c.originated ? 0 : 1));
  if (cs.length > 1) cs = keepMin(cs, (c) => -c.set.localPref);
  if (cs.length > 1) cs = keepMin(cs, (c) => c.set.asPathLength);
  if (cs.length > 1) cs = keepMin(cs, (c) => c.set.origin);
  if (cs.length > 1) cs = medStep(cs, opts.alwaysCompareMed);
  if (cs.length > 1) cs = keepMin(cs, (c) => (c.ebgp ? 0 : 1));
  if (cs.length > 1) cs = keepMin(cs, (c) => c.routerId);
  if (cs.length > 1) cs = keepMin(cs, (c) => c.set.clusterListLength);
  if (cs.length > 1) {
    let best = cs[0]!;
    for (const c of cs) {
      if (c.peerOrder < best.peerOrder || (c.peerOrder === best.peerOrder && c.pathId < best.pathId)) best = c;
    }
    return best;
  }
  return cs[0]!;
}

/** All candidates, best first (repeated selection; for display and ADD-PATH ordering). */
export function rankCandidates(cands: readonly Candidate[], opts: SelectionOptions): Candidate[] {
  const rest = cands.slice();
  const out: Candidate[] = [];
  while (rest.length > 0) {
    const b = selectBest(rest, opts);
    out.push(b);
    rest.splice(rest.indexOf(b), 1);
  }
  return out;
}

/** A sortable key of a peer address text ("4:" + 8 hex digits or "6:" + 32). */
export function peerOrderKey(address: string): string {
  if (!address.includes(':')) {
    const parts = address.split('.').map((x) => Number(x));
    return '4:' + parts.map((p) => p.toString(16).padStart(2, '0')).join('');
  }
  const halves = address.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const words = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return '6:' + words.map((w) => w.padStart(4, '0').toLowerCase()).join('');
}

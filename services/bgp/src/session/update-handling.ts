// RFC 7606 outcomes applied to a decoded UPDATE before it reaches the layer above, and the
// RFC 4760 family filter: the routing layer only ever sees announcements it may install and
// withdrawals it must apply.
import { MessageType, type AfiSafi, type MpUnreach, type UpdateMessage } from '../codec/index.js';

/**
 * RFC 7606 §2 treat-as-withdraw: every prefix the UPDATE announces (classic NLRI and
 * MP_REACH_NLRI) is withdrawn instead, and the attributes are dropped. Returns one UPDATE, or two
 * when the MP_REACH and MP_UNREACH of the message are of different families (an UPDATE carries
 * at most one MP_UNREACH_NLRI).
 */
export function treatAsWithdraw(u: UpdateMessage): UpdateMessage[] {
  const withdrawn = u.nlri.length > 0 ? [...u.withdrawn, ...u.nlri] : u.withdrawn;
  const reach = u.mpReach;
  const first: { -readonly [K in keyof UpdateMessage]: UpdateMessage[K] } = {
    type: MessageType.Update,
    withdrawn,
    nlri: [],
  };
  if (!reach) {
    if (u.mpUnreach) first.mpUnreach = u.mpUnreach;
    return [first];
  }
  const fromReach: MpUnreach = { afi: reach.afi, safi: reach.safi, withdrawn: reach.nlri };
  const un = u.mpUnreach;
  if (!un) {
    first.mpUnreach = fromReach;
    return [first];
  }
  if (un.afi === reach.afi && un.safi === reach.safi) {
    first.mpUnreach = { afi: un.afi, safi: un.safi, withdrawn: [...un.withdrawn, ...reach.nlri] };
    return [first];
  }
  first.mpUnreach = un;
  return [first, { type: MessageType.Update, withdrawn: [], nlri: [], mpUnreach: fromReach }];
}

/**
 * Drops MP_REACH/MP_UNREACH of families that were not negotiated (RFC 4760 §6: the peer may not
 * use them); returns the dropped families for logging. Classic NLRI are IPv4 unicast and are
 * dropped too when IPv4 unicast was not negotiated.
 */
export function keepNegotiatedFamilies(
  u: UpdateMessage,
  families: readonly AfiSafi[],
): { update: UpdateMessage; dropped: AfiSafi[] } {
  const ok = (afi: number, safi: number): boolean => families.some((f) => f.afi === afi && f.safi === safi);
  const dropped: AfiSafi[] = [];
  let out: { -readonly [K in keyof UpdateMessage]: UpdateMessage[K] } | undefined;
  const copy = (): { -readonly [K in keyof UpdateMessage]: UpdateMessage[K] } => (out ??= { ...u });
  if (u.mpReach && !ok(u.mpReach.afi, u.mpReach.safi)) {
    dropped.push({ afi: u.mpReach.afi, safi: u.mpReach.safi });
    delete copy().mpReach;
  }
  if (u.mpUnreach && !ok(u.mpUnreach.afi, u.mpUnreach.safi)) {
    dropped.push({ afi: u.mpUnreach.afi, safi: u.mpUnreach.safi });
    delete copy().mpUnreach;
  }
  if ((u.nlri.length > 0 || u.withdrawn.length > 0) && !ok(1, 1)) {
    dropped.push({ afi: 1, safi: 1 });
    copy().nlri = [];
    copy().withdrawn = [];
  }
  const update = out ?? u;
  if (out && update.nlri.length === 0 && !update.mpReach) delete out.attributes;
  return { update, dropped };
}

/** Whether the UPDATE still carries anything after filtering. */
export function isEmptyUpdate(u: UpdateMessage): boolean {
  return u.nlri.length === 0 && u.withdrawn.length === 0 && !u.mpReach && !u.mpUnreach;
}

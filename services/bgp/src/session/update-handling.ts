// RFC 7606 outcomes applied to a decoded UPDATE before it reaches the layer above, and the
// RFC 4760 family filter: the routing layer only ever sees announcements it may install and
// withdrawals it must apply.
import type { Logger } from 'pino';
import {
  MessageType,
  type AfiSafi,
  type MpUnreach,
  type UpdateDecodeResult,
  type UpdateMessage,
} from '../codec/index.js';
import type { SpeakerMetrics } from './metrics.js';
import type { SpeakerEvents } from './types.js';

/** What deliverUpdate needs from the speaker. */
export interface UpdateSink {
  readonly metrics: SpeakerMetrics;
  emit<K extends keyof SpeakerEvents>(event: K, ...args: SpeakerEvents[K]): void;
}

/**
 * Hands a decoded UPDATE (not End-of-RIB, no session-level error) to the layer above: RFC 7606
 * outcome logged and applied, families that were not negotiated dropped, prefixes counted, then
 * one 'update' event per resulting UPDATE (stops when `closing()`: a listener reset the session).
 */
export function deliverUpdate(
  r: UpdateDecodeResult,
  peer: string,
  families: readonly AfiSafi[],
  sink: UpdateSink,
  log: Logger,
  closing: () => boolean,
): void {
  let updates: UpdateMessage[] = [r.update];
  if (r.error) {
    sink.metrics.updateError(peer, r.error.handling);
    log.warn(
      { handling: r.error.handling, code: r.error.code, subcode: r.error.subcode },
      `malformed UPDATE (${r.error.handling}): ${r.error.message}`,
    );
    if (r.error.handling === 'treat-as-withdraw') updates = treatAsWithdraw(r.update);
  }
  for (const u of updates) {
    const { update, dropped } = keepNegotiatedFamilies(u, families);
    if (dropped.length > 0)
      log.warn({ dropped }, 'UPDATE for families that were not negotiated: ignored (RFC 4760 §6)');
    if (isEmptyUpdate(update)) continue;
    const announced = update.nlri.length + (update.mpReach?.nlri.length ?? 0);
    const withdrawn =
      update.withdrawn.length + (update.withdrawnWire?.count ?? 0) + (update.mpUnreach?.withdrawn.length ?? 0);
    if (announced) sink.metrics.prefixes(peer, 'announced', announced);
    if (withdrawn) sink.metrics.prefixes(peer, 'withdrawn', withdrawn);
    sink.emit('update', r.error ? { peer, update, error: r.error } : { peer, update });
    if (closing()) return;
  }
}

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
  if (u.withdrawnWire) first.withdrawnWire = u.withdrawnWire;
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
  if ((u.nlri.length > 0 || u.withdrawn.length > 0 || u.withdrawnWire) && !ok(1, 1)) {
    dropped.push({ afi: 1, safi: 1 });
    copy().nlri = [];
    copy().withdrawn = [];
    delete copy().withdrawnWire;
  }
  const update = out ?? u;
  if (out && update.nlri.length === 0 && !update.mpReach) delete out.attributes;
  return { update, dropped };
}

/** Whether the UPDATE still carries anything after filtering. */
export function isEmptyUpdate(u: UpdateMessage): boolean {
  return u.nlri.length === 0 && u.withdrawn.length === 0 && !u.withdrawnWire && !u.mpReach && !u.mpUnreach;
}

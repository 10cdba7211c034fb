// Prometheus instruments of the speaker, named like GoBGP's so its Grafana dashboards work:
// bgp_peer_state (idle=1 ... established=6), bgp_{received,sent}_<type>_total{peer} per message
// type plus bgp_{received,sent}_message_total, bgp_received_withdraw_prefix_total; labelled by
// peer address. What GoBGP does not have keeps a bgp_peer_ name (notifications by code, flaps,
// RFC 7606 errors).
import type { Counter, Meter } from '@opentelemetry/api';
import { SESSION_STATE_CODE, type SessionStateName } from '../fsm/index.js';

export interface PeerGaugeSource {
  peers(): Iterable<{ address: string; state: SessionStateName; outQueueBytes: number }>;
}

export interface SpeakerMetrics {
  received(peer: string, type: string): void;
  sent(peer: string, type: string): void;
  notification(peer: string, direction: 'sent' | 'received', code: number, subcode: number): void;
  flap(peer: string): void;
  updateError(peer: string, handling: string): void;
  prefixes(peer: string, direction: 'announced' | 'withdrawn', count: number): void;
  rejected(reason: string): void;
}

const NOOP: SpeakerMetrics = {
  received: () => undefined,
  sent: () => undefined,
  notification: () => undefined,
  flap: () => undefined,
  updateError: () => undefined,
  prefixes: () => undefined,
  rejected: () => undefined,
};

export function createSpeakerMetrics(meter: Meter | undefined, source: PeerGaugeSource): SpeakerMetrics {
  if (!meter) return NOOP;
  const state = meter.createObservableGauge('bgp_peer_state', {
    description: 'BGP session state: 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established',
  });
  const outQueue = meter.createObservableGauge('bgp_peer_out_queue_bytes', {
    description: 'Octets queued for the peer and not yet taken by the kernel',
  });
  state.addCallback((r) => {
    for (const p of source.peers()) r.observe(SESSION_STATE_CODE[p.state], { peer: p.address });
  });
  outQueue.addCallback((r) => {
    for (const p of source.peers()) r.observe(p.outQueueBytes, { peer: p.address });
  });
  const received = messageCounters(meter, 'received');
  const sent = messageCounters(meter, 'sent');
  const withdrawn: Counter = meter.createCounter('bgp_received_withdraw_prefix_total', {
    description: 'Prefixes withdrawn by the peer',
  });
  const notifications: Counter = meter.createCounter('bgp_peer_notifications_total', {
    description: 'NOTIFICATION messages by direction, code and subcode',
  });
  const flaps: Counter = meter.createCounter('bgp_peer_flaps_total', {
    description: 'Times an Established session went down',
  });
  const updateErrors: Counter = meter.createCounter('bgp_peer_update_errors_total', {
    description: 'Malformed UPDATEs by RFC 7606 handling',
  });
  const prefixes: Counter = meter.createCounter('bgp_peer_received_prefixes_total', {
    description: 'Prefixes received in UPDATEs, announced or withdrawn',
  });
  const rejected: Counter = meter.createCounter('bgp_rejected_connections_total', {
    description: 'Incoming connections refused, by reason',
  });
  return {
    received: (peer, type) => received(peer, type),
    sent: (peer, type) => sent(peer, type),
    notification: (peer, direction, code, subcode) =>
      notifications.add(1, { peer, direction, code: String(code), subcode: String(subcode) }),
    flap: (peer) => flaps.add(1, { peer }),
    updateError: (peer, handling) => updateErrors.add(1, { peer, handling }),
    prefixes: (peer, direction, count) => {
      prefixes.add(count, { peer, direction });
      if (direction === 'withdrawn') withdrawn.add(count, { peer });
    },
    rejected: (reason) => rejected.add(1, { reason }),
  };
}

/** GoBGP's per-type message counters for one direction; `type` is the message type's name. */
function messageCounters(meter: Meter, direction: 'received' | 'sent'): (peer: string, type: string) => void {
  const all = meter.createCounter(`bgp_${direction}_message_total`, { description: `BGP messages ${direction}` });
  const byType = new Map<string, Counter>();
  for (const type of ['open', 'update', 'notification', 'keepalive', 'refresh']) {
    byType.set(
      type,
      meter.createCounter(`bgp_${direction}_${type}_total`, {
        description: `BGP ${type.toUpperCase()} messages ${direction}`,
      }),
    );
  }
  return (peer, type) => {
    all.add(1, { peer });
    // ROUTE-REFRESH is GoBGP's "refresh".
    byType.get(type === 'ROUTE-REFRESH' ? 'refresh' : type.toLowerCase())?.add(1, { peer });
  };
}

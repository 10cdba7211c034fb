// Prometheus instruments of the speaker, named like GoBGP's (bgp_peer_state with idle=1 ...
// established=6, per-type message counters), labelled by peer address.
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
  const state = meter.createObservableGauge('bgp_peer_state', { description: 'BGP session state: 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established' });
  const outQueue = meter.createObservableGauge('bgp_peer_out_queue_bytes', { description: 'Octets queued for the peer and not yet taken by the kernel' });
  state.addCallback((r) => {
    for (const p of source.peers()) r.observe(SESSION_STATE_CODE[p.state], { peer: p.address });
  });
  outQueue.addCallback((r) => {
    for (const p of source.peers()) r.observe(p.outQueueBytes, { peer: p.address });
  });
  const received: Counter = meter.createCounter('bgp_peer_received_messages_total', { description: 'BGP messages received, by type' });
  const sent: Counter = meter.createCounter('bgp_peer_sent_messages_total', { description: 'BGP messages sent, by type' });
  const notifications: Counter = meter.createCounter('bgp_peer_notifications_total', { description: 'NOTIFICATION messages by direction, code and subcode' });
  const flaps: Counter = meter.createCounter('bgp_peer_flaps_total', { description: 'Times an Established session went down' });
  const updateErrors: Counter = meter.createCounter('bgp_peer_update_errors_total', { description: 'Malformed UPDATEs by RFC 7606 handling' });
  const prefixes: Counter = meter.createCounter('bgp_peer_received_prefixes_total', { description: 'Prefixes received in UPDATEs, announced or withdrawn' });
  const rejected: Counter = meter.createCounter('bgp_rejected_connections_total', { description: 'Incoming connections refused, by reason' });
  return {
    received: (peer, type) => received.add(1, { peer, type }),
    sent: (peer, type) => sent.add(1, { peer, type }),
    notification: (peer, direction, code, subcode) => notifications.add(1, { peer, direction, code: String(code), subcode: String(subcode) }),
    flap: (peer) => flaps.add(1, { peer }),
    updateError: (peer, handling) => updateErrors.add(1, { peer, handling }),
    prefixes: (peer, direction, count) => prefixes.add(count, { peer, direction }),
    rejected: (reason) => rejected.add(1, { reason }),
  };
}

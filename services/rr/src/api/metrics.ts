// Prometheus instruments of the reflector. Per-peer route counts use GoBGP's names
// (bgp_routes_received, bgp_routes_accepted with peer and route_family labels) plus
// bgp_routes_advertised; session state and message counters come from the speaker
// (bgp_peer_state ...). Table-wide figures are meshless_rr_*.

import type { Meter } from '@opentelemetry/api';
import type { Reflector } from '../reflector/reflector.js';

export function createRrMetrics(meter: Meter, rr: Reflector, persistBacklog: () => number): void {
  const received = meter.createObservableGauge('bgp_routes_received', {
    description: 'Routes received from the peer (accepted + rejected by import policy)',
  });
  const accepted = meter.createObservableGauge('bgp_routes_accepted', {
    description: 'Routes accepted from the peer (its Adj-RIB-In after import policy)',
  });
  const advertised = meter.createObservableGauge('bgp_routes_advertised', {
    description: "Prefixes advertised to the peer (its update group's Adj-RIB-Out)",
  });
  received.addCallback((r) => {
    for (const s of rr.peerSettings()) {
      const p = rr.ribPeer(s.address);
      r.observe(p.count - p.count6 + p.rejected, { peer: s.address, route_family: 'ipv4-unicast' });
      r.observe(p.count6, { peer: s.address, route_family: 'ipv6-unicast' });
    }
  });
  accepted.addCallback((r) => {
    for (const s of rr.peerSettings()) {
      const p = rr.ribPeer(s.address);
      r.observe(p.count - p.count6, { peer: s.address, route_family: 'ipv4-unicast' });
      r.observe(p.count6, { peer: s.address, route_family: 'ipv6-unicast' });
    }
  });
  advertised.addCallback((r) => {
    for (const s of rr.peerSettings()) r.observe(rr.advertisedCount(s.address), { peer: s.address });
  });
  const table = meter.createObservableGauge('meshless_rr_table', {
    description: 'Loc-RIB size: prefixes, paths, interned attribute sets, update groups',
  });
  table.addCallback((r) => {
    r.observe(rr.rib.prefixCount, { what: 'prefixes' });
    r.observe(rr.rib.routeCount, { what: 'paths' });
    r.observe(rr.rib.attributeSetCount, { what: 'attribute_sets' });
    r.observe(rr.exporter.groupCount, { what: 'update_groups' });
  });
  meter
    .createObservableCounter('meshless_rr_updates_sent_total', {
      description: 'UPDATE messages written to peers (each member of a group counted)',
    })
    .addCallback((r) => r.observe(rr.exporter.stats.updatesSent));
  meter
    .createObservableGauge('meshless_rr_persist_backlog', {
      description: 'RIB changes recorded and not yet written to LMDB',
    })
    .addCallback((r) => r.observe(persistBacklog()));
  meter
    .createObservableGauge('meshless_rr_restarting', {
      description: '1 while waiting for End-of-RIB after a warm restart',
    })
    .addCallback((r) => r.observe(rr.isRestarting ? 1 : 0));
}

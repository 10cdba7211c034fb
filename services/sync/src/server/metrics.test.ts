import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createSyncMetrics } from './metrics.js';

class Reader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

// The per-connection counts became plain tallies read at collection (metrics.ts, Tally): the
// exposition must be what it was with OpenTelemetry counters.
test('per-connection counts are exported under their names and attributes, summed per value', async () => {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  const m = createSyncMetrics(provider.getMeter('test'));
  for (let i = 0; i < 3; i++) m.connections('agent', 1);
  m.connections('agent', -1);
  m.connections('bgp', 1);
  m.closed('lag');
  m.closed('lag');
  m.closed('client');
  m.snapshotReused('agent');
  m.snapshotBytesSent('agent', 1000);
  m.snapshotBytesSent('agent', 500);
  m.resumed('agent', 7);
  m.rejected('full');
  const { resourceMetrics } = await reader.collect();
  const text = new PrometheusSerializer().serialize(resourceMetrics).replaceAll(',otel_scope_name="test"', '');
  const line = (s: string) => assert.ok(text.includes(s), `missing ${s} in\n${text}`);
  line('meshless_sync_connections{syncer="agent"} 2');
  line('meshless_sync_connections{syncer="bgp"} 1');
  line('meshless_sync_streams_closed_total{reason="lag"} 2');
  line('meshless_sync_streams_closed_total{reason="client"} 1');
  line('meshless_sync_snapshots_reused_total{syncer="agent"} 1');
  line('meshless_sync_snapshot_bytes_sent_total{syncer="agent"} 1500');
  line('meshless_sync_resumes_total{syncer="agent"} 1');
  line('meshless_sync_resume_updates_total{syncer="agent"} 7');
  line('meshless_sync_connections_rejected_total{reason="full"} 1');
  // A counter stays a counter, and the connections a gauge, as before.
  line('# TYPE meshless_sync_streams_closed_total counter');
  line('# TYPE meshless_sync_connections gauge');
  await provider.shutdown();
});

// A fan-out of 10,000 streams per process under load takes seconds: its histogram must resolve
// them (the last bound was 1.024 s, and every such fan-out landed in +Inf).
test('fan-out times of seconds land in finite buckets', async () => {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  const m = createSyncMetrics(provider.getMeter('test'));
  m.fanoutDuration(3, 'deltas');
  m.fanoutDuration(0.003, 'deltas');
  const { resourceMetrics } = await reader.collect();
  const text = new PrometheusSerializer().serialize(resourceMetrics).replaceAll(',otel_scope_name="test"', '');
  assert.ok(text.includes('meshless_sync_fanout_seconds_bucket{kind="deltas",le="2.048"} 1'), text);
  assert.ok(text.includes('meshless_sync_fanout_seconds_bucket{kind="deltas",le="4.096"} 2'), text);
  await provider.shutdown();
});

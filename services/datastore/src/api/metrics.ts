// The datastore's instruments (OpenTelemetry, exported for Prometheus by shared/telemetry).
import type { Meter } from '@opentelemetry/api';
import { status } from '@grpc/grpc-js';

const CODE_NAMES = new Map<number, string>(
  Object.entries(status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

export interface ApiMetrics {
  /** A finished call; `seconds` from the request's arrival to its answer (unary calls only). */
  request(method: string, code: number, seconds?: number): void;
  /** A request refused by authorization (by method and the caller's role). */
  denied(method: string, role: string): void;
  watchOpened(): void;
  watchClosed(): void;
  blockAllocated(): void;
  tombstonesPurged(count: number): void;
  /** A NATS failure reached a request or the probe; `reason` nats | storage | timeout | ... */
  natsError(reason: string): void;
}

export interface MetricSources {
  /** The highest KV revision the service has seen. */
  revision(): number;
  /** The compacted revision last recorded. */
  compactedRevision(): number;
  /** Whether the last KV probe succeeded. */
  kvProbeOk(): boolean;
}

export function createApiMetrics(meter: Meter, sources: MetricSources): ApiMetrics {
  const requests = meter.createCounter('meshless_datastore_requests_total', {
    description: 'gRPC requests by method and status code',
  });
  const denials = meter.createCounter('meshless_datastore_permission_denied_total', {
    description: 'requests refused by authorization, by method and role',
  });
  const duration = meter.createHistogram('meshless_datastore_request_duration_seconds', {
    description: 'unary gRPC requests: time from arrival to answer, by method and status code',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    },
  });
  const watches = meter.createUpDownCounter('meshless_datastore_watch_streams', {
    description: 'Watch streams open now',
  });
  const blocks = meter.createCounter('meshless_datastore_ipam_blocks_allocated_total', {
    description: 'IPAM blocks newly allocated to nodes',
  });
  const purged = meter.createCounter('meshless_datastore_tombstones_purged_total', {
    description: 'Deletion tombstones purged by compaction',
  });
  meter
    .createObservableGauge('meshless_datastore_revision', {
      description: 'Highest KV revision (stream sequence) seen by this process',
    })
    .addCallback((r) => r.observe(sources.revision()));
  meter
    .createObservableGauge('meshless_datastore_compacted_revision', {
      description: 'Revision up to which tombstones may have been purged',
    })
    .addCallback((r) => r.observe(sources.compactedRevision()));
  const natsErrors = meter.createCounter('meshless_datastore_nats_errors_total', {
    description:
      'NATS failures seen by requests and the KV probe, by reason (nats = unreachable or electing, storage = JetStream store full or failing)',
  });
  meter
    .createObservableGauge('meshless_datastore_kv_probe_ok', {
      description: '1 when the last KV write-and-read probe succeeded within its deadline',
    })
    .addCallback((r) => r.observe(sources.kvProbeOk() ? 1 : 0));
  return {
    natsError: (reason) => natsErrors.add(1, { reason }),
    request: (method, code, seconds) => {
      const labels = { method, code: CODE_NAMES.get(code) ?? String(code) };
      requests.add(1, labels);
      if (seconds !== undefined) duration.record(seconds, labels);
    },
    denied: (method, role) => denials.add(1, { method, role }),
    watchOpened: () => watches.add(1),
    watchClosed: () => watches.add(-1),
    blockAllocated: () => blocks.add(1),
    tombstonesPurged: (count) => purged.add(count),
  };
}

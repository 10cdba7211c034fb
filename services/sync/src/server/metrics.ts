// The sync server's metrics (OpenTelemetry instruments, exported on /metrics by the shared
// telemetry). Names follow meshless_<service>_<thing>_<unit>.
import { metrics, type Meter, type ObservableResult } from '@opentelemetry/api';
import type { SyncerType } from '../view/index.js';

export interface SyncMetrics {
  connections(syncer: SyncerType, delta: number): void;
  rejected(reason: string): void;
  closed(reason: string): void;
  snapshotBuilt(syncer: SyncerType, compression: string, rawBytes: number, wireBytes: number): void;
  snapshotReused(syncer: SyncerType): void;
  snapshotBytesSent(syncer: SyncerType, bytes: number): void;
  resumed(syncer: SyncerType, updates: number): void;
  fannedOut(updates: number, messages: number): void;
  /** Seconds from a fan-out task's creation to its last write to a stream. */
  fanoutDuration(seconds: number, kind: 'deltas' | 'ping'): void;
  clientLag(revisions: number): void;
  pingLatency(seconds: number): void;
  shed(count: number): void;
  drained(count: number): void;
}

/**
 * Counts per attribute value, kept as plain numbers and read when the metrics are collected.
 * Adding to an OpenTelemetry counter hashes its attributes on every call: the per-connection
 * counters (connections, snapshot parts reused and bytes sent, resumes, closes) cost the cold start
 * of 2,500 agents ~0.5 s of a sync server's profile, more than building all the node parts; here
 * an add is one Map update. Rejected: bound instruments (no longer in the OpenTelemetry JS API).
 */
class Tally {
  private readonly values = new Map<string, number>();
  constructor(private readonly attribute: string) {}
  add(key: string, n: number): void {
    this.values.set(key, (this.values.get(key) ?? 0) + n);
  }
  observe(r: ObservableResult): void {
    for (const [k, v] of this.values) r.observe(v, { [this.attribute]: k });
  }
}

export function createSyncMetrics(
  meter: Meter = metrics.getMeter('meshless-sync'),
  gauges?: {
    revision(): number;
    cacheEntries(): number;
    streams(): number;
    connectionLimit?(): number;
    /** This process's socket ledger (fd-limit.ts), `workers` 1 only. */
    sockets?(): { idle: number; evicted: number } | undefined;
  },
): SyncMetrics {
  const tally = (
    attribute: string,
    observe: (name: string, description: string) => { addCallback(cb: (r: ObservableResult) => void): void },
    name: string,
    description: string,
  ) => {
    const t = new Tally(attribute);
    observe(name, description).addCallback((r) => t.observe(r));
    return t;
  };
  const counter = (name: string, description: string) => meter.createObservableCounter(name, { description });
  const connections = tally(
    'syncer',
    (name, description) => meter.createObservableUpDownCounter(name, { description }),
    'meshless_sync_connections',
    'streams past the handshake, by syncer type',
  );
  const rejected = tally('reason', counter, 'meshless_sync_connections_rejected_total', 'hellos refused, by reason');
  const closed = tally('reason', counter, 'meshless_sync_streams_closed_total', 'streams ended, by reason');
  const snapBuilt = meter.createCounter('meshless_sync_snapshots_built_total', {
    description: 'shared snapshots built',
  });
  const snapReused = tally(
    'syncer',
    counter,
    'meshless_sync_snapshots_reused_total',
    'snapshot parts served from an existing build',
  );
  const snapRaw = meter.createCounter('meshless_sync_snapshot_raw_bytes_total', {
    description: 'bytes of snapshots built, before compression',
  });
  const snapWire = meter.createCounter('meshless_sync_snapshot_compressed_bytes_total', {
    description: 'bytes of snapshots built, as sent (after compression)',
  });
  const snapSent = tally(
    'syncer',
    counter,
    'meshless_sync_snapshot_bytes_sent_total',
    'snapshot bytes queued to clients (shared parts counted per client)',
  );
  const resumes = tally(
    'syncer',
    counter,
    'meshless_sync_resumes_total',
    'clients served deltas from their revision instead of a snapshot',
  );
  const resumeUpdates = tally(
    'syncer',
    counter,
    'meshless_sync_resume_updates_total',
    'updates sent to resuming clients',
  );
  const updates = meter.createCounter('meshless_sync_updates_fanned_out_total', {
    description: 'updates written to streams (one per update per stream)',
  });
  const messages = meter.createCounter('meshless_sync_messages_fanned_out_total', {
    description: 'encoded messages written to streams',
  });
  const fanoutSeconds = meter.createHistogram('meshless_sync_fanout_seconds', {
    description: 'time from a change batch (or ping round) reaching the fan-out to its last write to a stream',
    advice: {
      explicitBucketBoundaries: [
        0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
        // 10,000 streams per process under load fan out in seconds: a last bound of 1.024 s put
        // every such fan-out in +Inf, and the benchmark read it as no figure at all.
        2.048, 4.096, 8.192, 16.384,
      ],
    },
  });
  const lag = meter.createHistogram('meshless_sync_client_lag_revisions', {
    description: 'per-client lag sampled at each ping round: revisions between its oldest queued message and the head',
    advice: { explicitBucketBoundaries: [0, 1, 10, 100, 1000, 10000, 100000] },
  });
  const ping = meter.createHistogram('meshless_sync_ping_latency_seconds', {
    description: 'time from writing a Ping to receiving its Pong',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] },
  });
  const sheds = meter.createCounter('meshless_sync_sheds_total', {
    description: 'clients sent to another server to even out load',
  });
  const drains = meter.createCounter('meshless_sync_drains_total', {
    description: 'clients sent to another server while shutting down',
  });
  if (gauges) {
    meter
      .createObservableGauge('meshless_sync_revision', { description: 'highest datastore revision applied' })
      .addCallback((r) => r.observe(gauges.revision()));
    meter
      .createObservableGauge('meshless_sync_cache_entries', { description: 'keys in the cache, tombstones included' })
      .addCallback((r) => r.observe(gauges.cacheEntries()));
    meter
      .createObservableGauge('meshless_sync_streams', { description: 'open streams, handshaking included' })
      .addCallback((r) => r.observe(gauges.streams()));
    // What "near the connection limit" alerts divide by: maxConnections as lowered to the open-file limit.
    const limit = gauges.connectionLimit;
    if (limit)
      meter
        .createObservableGauge('meshless_sync_connections_limit', {
          description: 'streams this server accepts before sending clients elsewhere',
        })
        .addCallback((r) => r.observe(limit()));
    const sockets = gauges.sockets;
    if (sockets) {
      meter
        .createObservableGauge('meshless_sync_idle_sessions', {
          description:
            "connections with no call yet: agents' warm standby sessions, closed first near the open-file limit",
        })
        .addCallback((r) => r.observe(sockets()?.idle ?? 0));
      meter
        .createObservableCounter('meshless_sync_idle_sessions_closed_total', {
          description: 'idle (standby) sessions closed to make room for new connections',
        })
        .addCallback((r) => r.observe(sockets()?.evicted ?? 0));
    }
  }
  return {
    connections: (syncer, delta) => connections.add(syncer, delta),
    rejected: (reason) => rejected.add(reason, 1),
    closed: (reason) => closed.add(reason, 1),
    snapshotBuilt: (syncer, compression, raw, wire) => {
      snapBuilt.add(1, { syncer, compression });
      snapRaw.add(raw, { syncer, compression });
      snapWire.add(wire, { syncer, compression });
    },
    snapshotReused: (syncer) => snapReused.add(syncer, 1),
    snapshotBytesSent: (syncer, bytes) => snapSent.add(syncer, bytes),
    resumed: (syncer, n) => {
      resumes.add(syncer, 1);
      resumeUpdates.add(syncer, n);
    },
    fannedOut: (u, m) => {
      updates.add(u);
      messages.add(m);
    },
    fanoutDuration: (sec, kind) => fanoutSeconds.record(sec, { kind }),
    clientLag: (r) => lag.record(r),
    pingLatency: (s) => ping.record(s),
    shed: (n) => sheds.add(n),
    drained: (n) => drains.add(n),
  };
}

// Process and runtime metrics every service exposes, under the names Prometheus' own client
// libraries use (prom-client's defaults for Node.js, client_golang's process collector), so the
// dashboards and alerts operators already have for a Node.js or Go process work unchanged:
//   process_cpu_seconds_total, process_cpu_user_seconds_total, process_cpu_system_seconds_total,
//   process_resident_memory_bytes, process_start_time_seconds, process_open_fds,
//   nodejs_heap_size_used_bytes, nodejs_heap_size_total_bytes, nodejs_external_memory_bytes,
//   nodejs_eventloop_lag_{p50,p99,max}_seconds (over the interval since the previous scrape),
//   nodejs_gc_duration_seconds_total{kind}
// and meshless_build_info{service,version,node_version} 1, the Prometheus convention for build
// metadata (join it on `instance` to label other series with the version).
//
// Everything is read when Prometheus scrapes (observable instruments), except the event-loop
// delay histogram, which perf_hooks samples every 10 ms in C++ and costs the loop nothing.
// Chosen over @opentelemetry/host-metrics and OTel's Node runtime instrumentation: both name
// their series in OTel semantic conventions (`process.cpu.time`, `v8js.*`) that no existing
// Prometheus dashboard queries, and they pull in more code at start-up than this file is.
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { join } from 'node:path';
import type { Meter } from '@opentelemetry/api';
import { PROJECT_ROOT } from '../paths/index.js';

const MESHLESS_VERSION: string = (() => {
  try {
    return (
      (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ??
      'unknown'
    );
  } catch {
    return 'unknown';
  }
})();

/** Resident set size in bytes from /proc (Linux); process.memoryUsage.rss() elsewhere. */
function residentBytes(): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage.rss();
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Registers the runtime instruments on `meter`; returns what stops the samplers. */
export function registerRuntimeMetrics(meter: Meter, service: string): () => void {
  const startSeconds = Math.round((performance.timeOrigin / 1000) * 1000) / 1000;
  meter
    .createObservableGauge('meshless_build_info', {
      description: 'Always 1; labels carry the service, Meshless version and Node.js version',
    })
    .addCallback((r) => r.observe(1, { service, version: MESHLESS_VERSION, node_version: process.version }));

  const cpu = meter.createObservableCounter('process_cpu_seconds_total', {
    description: 'Total user and system CPU time spent in seconds',
  });
  const cpuUser = meter.createObservableCounter('process_cpu_user_seconds_total', {
    description: 'Total user CPU time spent in seconds',
  });
  const cpuSystem = meter.createObservableCounter('process_cpu_system_seconds_total', {
    description: 'Total system CPU time spent in seconds',
  });
  const rss = meter.createObservableGauge('process_resident_memory_bytes', {
    description: 'Resident memory size in bytes',
  });
  const start = meter.createObservableGauge('process_start_time_seconds', {
    description: 'Start time of the process since the Unix epoch in seconds',
  });
  const fds = meter.createObservableGauge('process_open_fds', { description: 'Number of open file descriptors' });
  const heapUsed = meter.createObservableGauge('nodejs_heap_size_used_bytes', {
    description: 'V8 heap in use, in bytes',
  });
  const heapTotal = meter.createObservableGauge('nodejs_heap_size_total_bytes', {
    description: 'V8 heap reserved, in bytes',
  });
  const external = meter.createObservableGauge('nodejs_external_memory_bytes', {
    description: 'Memory of C++ objects bound to JavaScript objects (Buffers included), in bytes',
  });
  const lagP50 = meter.createObservableGauge('nodejs_eventloop_lag_p50_seconds', {
    description: 'Median event-loop delay since the previous scrape',
  });
  const lagP99 = meter.createObservableGauge('nodejs_eventloop_lag_p99_seconds', {
    description: '99th percentile of the event-loop delay since the previous scrape',
  });
  const lagMax = meter.createObservableGauge('nodejs_eventloop_lag_max_seconds', {
    description: 'Longest event-loop delay since the previous scrape',
  });
  const gc = meter.createObservableCounter('nodejs_gc_duration_seconds_total', {
    description: 'Time spent in garbage collection, by kind',
  });

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const gcSeconds = new Map<string, number>();
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      gcSeconds.set(kind, (gcSeconds.get(kind) ?? 0) + entry.duration / 1000);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  meter.addBatchObservableCallback(
    (r) => {
      const usage = process.cpuUsage();
      r.observe(cpuUser, usage.user / 1e6);
      r.observe(cpuSystem, usage.system / 1e6);
      r.observe(cpu, (usage.user + usage.system) / 1e6);
      r.observe(rss, residentBytes());
      r.observe(start, startSeconds);
      const open = openFds();
      if (open !== undefined) r.observe(fds, open);
      const mem = process.memoryUsage();
      r.observe(heapUsed, mem.heapUsed);
      r.observe(heapTotal, mem.heapTotal);
      r.observe(external, mem.external);
      // The histogram is in nanoseconds; it starts over after each scrape so p99 is recent.
      if (delay.count > 0) {
        r.observe(lagP50, delay.percentile(50) / 1e9);
        r.observe(lagP99, delay.percentile(99) / 1e9);
        r.observe(lagMax, delay.max / 1e9);
        delay.reset();
      }
      for (const [kind, seconds] of gcSeconds) r.observe(gc, seconds, { kind });
    },
    [cpu, cpuUser, cpuSystem, rss, start, fds, heapUsed, heapTotal, external, lagP50, lagP99, lagMax, gc],
  );
  return () => {
    delay.disable();
    gcObserver.disconnect();
  };
}

// `meshless kube-controller`: leader election first, the controller only while leading.
// Losing the lease stops the controller and rejects `lost` (the CLI exits non-zero and the
// Deployment restarts the pod, client-go's recommended reaction: a former leader must not keep
// writing next to the new one).
import { hostname } from 'node:os';
import { createDatastoreClient } from '../../shared/datastore-client/index.js';
import type { Logger } from '../../shared/log/index.js';
import { KubeController } from './controller.js';
import type { KubeConfig } from './kube/config.js';
import { kubeHttp } from './kube/http.js';
import { LeaderElector } from './kube/lease.js';
import { startTelemetry, type Telemetry } from '../../shared/telemetry/index.js';

export interface KubeControllerConfig {
  kube: KubeConfig;
  datastore: string;
  /** Mutual TLS credentials directory (a certificate with the controller role); absent: plain text. */
  credentials?: string;
  log: Logger;
  /** Lease identity; default the host name (the pod name in a Deployment) plus the pid. */
  identity?: string;
  leaseName?: string;
  leaseNamespace?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  cniNetwork?: string;
  resyncPeriodMs?: number;
  watchTimeoutSeconds?: number;
  /** /metrics, /livez, /readyz; absent = none. */
  metrics?: { host: string; port: number };
}

export interface KubeControllerHandle {
  readonly identity: string;
  leading(): boolean;
  controller(): KubeController | undefined;
  /** Rejects when leadership is lost (never resolves otherwise). */
  readonly lost: Promise<never>;
  /** Port of /metrics /livez /readyz, when served. */
  readonly metricsPort: number | undefined;
  /** Stops the controller and releases the lease. */
  close(): Promise<void>;
}

export async function runKubeController(cfg: KubeControllerConfig): Promise<KubeControllerHandle> {
  const http = kubeHttp(cfg.kube);
  // convertedFrom: the datastore lets the controller (and only it) write knp.default.* policies.
  const datastore = createDatastoreClient(cfg.datastore, {
    deadlineMs: 30_000,
    convertedFrom: 'k8s',
    ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
  });
  const identity = cfg.identity ?? `${hostname()}_${process.pid}`;
  let controller: KubeController | undefined;
  /** Counts of controllers that stopped (leadership lost), so the counters never go down. */
  const totals = { reconciled: 0, failed: 0, written: 0, deleted: 0 };
  let reject!: (err: Error) => void;
  const lost = new Promise<never>((_, r) => (reject = r));
  lost.catch(() => undefined);
  const elector = new LeaderElector(http, {
    namespace: cfg.leaseNamespace ?? cfg.kube.namespace,
    name: cfg.leaseName ?? 'meshless-kube-controller',
    identity,
    ...(cfg.leaseDurationMs ? { leaseDurationMs: cfg.leaseDurationMs } : {}),
    ...(cfg.renewDeadlineMs ? { renewDeadlineMs: cfg.renewDeadlineMs } : {}),
    ...(cfg.retryPeriodMs ? { retryPeriodMs: cfg.retryPeriodMs } : {}),
    log: cfg.log,
    onStarted: () => {
      controller = new KubeController({
        http,
        datastore,
        log: cfg.log,
        ...(cfg.cniNetwork ? { cniNetwork: cfg.cniNetwork } : {}),
        ...(cfg.resyncPeriodMs ? { resyncPeriodMs: cfg.resyncPeriodMs } : {}),
        ...(cfg.watchTimeoutSeconds ? { watchTimeoutSeconds: cfg.watchTimeoutSeconds } : {}),
      });
      controller.start();
    },
    onLost: () => {
      const c = controller;
      controller = undefined;
      if (c) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += c.stats[k];
      void c?.stop();
      reject(new Error(`lost the lease '${cfg.leaseName ?? 'meshless-kube-controller'}'`));
    },
  });
  let telemetry: Telemetry | undefined;
  if (cfg.metrics) {
    telemetry = await startTelemetry({ service: 'kube-controller', host: cfg.metrics.host, port: cfg.metrics.port });
    // A standby replica is ready (it is doing its job: waiting); a leader once every first LIST is in.
    telemetry.addReadiness('sync', () => ({
      ready: !elector.leading || (controller?.synced() ?? false),
      reason: 'leading, but the first LIST of every resource is not in yet',
    }));
    telemetry.meter
      .createObservableGauge('meshless_kube_controller_leader', { description: '1 while this replica holds the lease' })
      .addCallback((r) => r.observe(elector.leading ? 1 : 0));
    const counter = (name: string, key: 'reconciled' | 'failed' | 'written' | 'deleted', description: string) =>
      telemetry!.meter
        .createObservableCounter(name, { description })
        .addCallback((r) => r.observe(totals[key] + (controller?.stats[key] ?? 0)));
    counter('meshless_kube_controller_reconciles_total', 'reconciled', 'keys reconciled');
    counter('meshless_kube_controller_reconcile_failures_total', 'failed', 'reconciles that failed and were retried');
    counter('meshless_kube_controller_writes_total', 'written', 'datastore objects created or updated');
    counter(
      'meshless_kube_controller_deletes_total',
      'deleted',
      'datastore objects deleted because their Kubernetes object is gone',
    );
  }
  elector.start();
  return {
    metricsPort: telemetry?.port,
    identity,
    leading: () => elector.leading,
    controller: () => controller,
    lost,
    async close() {
      const c = controller;
      controller = undefined;
      await c?.stop();
      await elector.release();
      datastore.close();
      await telemetry?.close();
    },
  };
}

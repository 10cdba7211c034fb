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

export interface KubeControllerConfig {
  kube: KubeConfig;
  datastore: string;
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
}

export interface KubeControllerHandle {
  readonly identity: string;
  leading(): boolean;
  controller(): KubeController | undefined;
  /** Rejects when leadership is lost (never resolves otherwise). */
  readonly lost: Promise<never>;
  /** Stops the controller and releases the lease. */
  close(): Promise<void>;
}

export function runKubeController(cfg: KubeControllerConfig): KubeControllerHandle {
  const http = kubeHttp(cfg.kube);
  const datastore = createDatastoreClient(cfg.datastore, { deadlineMs: 30_000 });
  const identity = cfg.identity ?? `${hostname()}_${process.pid}`;
  let controller: KubeController | undefined;
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
      void c?.stop();
      reject(new Error(`lost the lease '${cfg.leaseName ?? 'meshless-kube-controller'}'`));
    },
  });
  elector.start();
  return {
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
    },
  };
}

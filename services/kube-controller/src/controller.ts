// The reconciler. Level-based, like calico-kube-controllers: events only name a key
// ("pod:ns/name"); a single worker reads the informers' caches and the datastore and makes the
// datastore match, so a missed, repeated or reordered event cannot leave it wrong. A full pass
// (every cached object plus every datastore object the controller owns) runs after each LIST
// (the first, and each after 410 Gone) and every resyncPeriod: it deletes what Kubernetes no
// longer has, e.g. a pod deleted while the watch was down.
//
// Owned datastore objects: Profiles kns.* and ksa.*, NetworkPolicies knp.default.*, Nodes whose
// spec.orchRefs name orchestrator k8s, WorkloadEndpoints with orchestrator k8s. Nothing else is
// touched, so hand-written resources survive.
import type { DatastoreClient, ResourceObject } from '../../shared/datastore-client/index.js';
import { ConflictError, NotFoundError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/log/index.js';
import { validateResource } from '../../shared/resources/index.js';
import {
  KNP_PREFIX,
  NAMESPACE_PROFILE_PREFIX,
  SA_PROFILE_PREFIX,
  namespaceProfile,
  networkPolicy,
  nodeFields,
  podEndpointFields,
  serviceAccountProfile,
  type Doc,
} from './convert.js';
import type { KubeHttp } from './kube/http.js';
import { Reflector, sleep, type KubeObject } from './kube/reflector.js';

export interface ControllerOptions {
  http: KubeHttp;
  /** A client created with convertedFrom 'k8s' (knp.default.* names are refused otherwise). */
  datastore: DatastoreClient;
  log: Logger;
  /** CNI network name: IPAM handles are `<network>.<containerID>` (the CNI plugin's naming). */
  cniNetwork?: string;
  resyncPeriodMs?: number;
  watchTimeoutSeconds?: number;
}

type Kind = 'node' | 'namespace' | 'serviceaccount' | 'pod' | 'networkpolicy';
const PATHS: Record<Kind, string> = {
  node: '/api/v1/nodes',
  namespace: '/api/v1/namespaces',
  serviceaccount: '/api/v1/serviceaccounts',
  pod: '/api/v1/pods',
  networkpolicy: '/apis/networking.k8s.io/v1/networkpolicies',
};

const same = (a: unknown, b: unknown) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
    );
  return v;
}

export class KubeController {
  readonly reflectors: Record<Kind, Reflector>;
  /** Reconciles done and failed; tests and logs read them. */
  readonly stats = { reconciled: 0, failed: 0, deleted: 0, written: 0 };
  private readonly queue = new Set<string>();
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private readonly network: string;

  constructor(private readonly opts: ControllerOptions) {
    this.network = opts.cniNetwork ?? 'k8s-pod-network';
    const make = (kind: Kind) =>
      new Reflector(opts.http, {
        path: PATHS[kind],
        log: opts.log,
        ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
        onChange: (key) => this.enqueue(`${kind}:${key}`),
        onSync: () => {
          if (this.synced()) void this.enqueueOwned();
        },
      });
    this.reflectors = {
      node: make('node'),
      namespace: make('namespace'),
      serviceaccount: make('serviceaccount'),
      pod: make('pod'),
      networkpolicy: make('networkpolicy'),
    };
  }

  synced(): boolean {
    return Object.values(this.reflectors).every((r) => r.synced);
  }

  start(): void {
    for (const r of Object.values(this.reflectors)) r.start();
    this.tasks.push(this.worker(), this.watchEndpoints(), this.periodicResync());
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await Promise.all([...Object.values(this.reflectors).map((r) => r.stop()), ...this.tasks]);
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    this.wake?.();
  }

  private async worker(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      // Decisions about deletion need the whole collection: wait for every first LIST.
      const key = this.synced() ? this.queue.values().next().value : undefined;
      if (key === undefined) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 1000);
        });
        continue;
      }
      this.queue.delete(key);
      try {
        await this.reconcile(key);
        this.stats.reconciled++;
      } catch (err) {
        if (signal.aborted) return;
        this.stats.failed++;
        this.opts.log.warn({ key, err: (err as Error).message }, 'reconcile failed; retrying');
        setTimeout(() => this.enqueue(key), err instanceof ConflictError ? 50 : 1000).unref();
      }
    }
  }

  /** Every datastore object we own, so the ones without a Kubernetes object get deleted. */
  private async enqueueOwned(): Promise<void> {
    try {
      for (const k of ['node', 'namespace', 'serviceaccount', 'pod', 'networkpolicy'] as Kind[]) {
        for (const key of this.reflectors[k].cache.keys()) this.enqueue(`${k}:${key}`);
      }
      const ds = this.opts.datastore;
      for (const p of (await ds.list('Profile')).items) {
        const n = p.metadata.name;
        if (n.startsWith(NAMESPACE_PROFILE_PREFIX))
          this.enqueue(`namespace:${n.slice(NAMESPACE_PROFILE_PREFIX.length)}`);
        else if (n.startsWith(SA_PROFILE_PREFIX)) {
          const [ns, ...rest] = n.slice(SA_PROFILE_PREFIX.length).split('.');
          this.enqueue(`serviceaccount:${ns}/${rest.join('.')}`);
        }
      }
      for (const p of (await ds.list('NetworkPolicy')).items) {
        if (p.metadata.name.startsWith(KNP_PREFIX))
          this.enqueue(`networkpolicy:${p.metadata.namespace}/${p.metadata.name.slice(KNP_PREFIX.length)}`);
      }
      for (const n of (await ds.list('Node')).items) if (ownedNode(n)) this.enqueue(`node:${n.metadata.name}`);
      for (const w of (await ds.list('WorkloadEndpoint')).items) {
        const spec = w.spec as { orchestrator?: string; pod?: string };
        if (spec.orchestrator === 'k8s' && spec.pod) this.enqueue(`pod:${w.metadata.namespace}/${spec.pod}`);
      }
    } catch (err) {
      this.opts.log.warn(
        { err: (err as Error).message },
        'listing the datastore for a full pass failed; next pass retries',
      );
    }
  }

  private async periodicResync(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await sleep(this.opts.resyncPeriodMs ?? 300_000, this.abort.signal);
      if (!this.abort.signal.aborted && this.synced()) await this.enqueueOwned();
    }
  }

  /** Endpoints the CNI plugin writes get the pod's labels: a new WorkloadEndpoint queues its pod. */
  private async watchEndpoints(): Promise<void> {
    const signal = this.abort.signal;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        for await (const ev of this.opts.datastore.watch({ kinds: ['WorkloadEndpoint'], signal })) {
          backoff = 500;
          if (ev.type !== 'put') continue;
          const spec = ev.resource.spec as { orchestrator?: string; pod?: string };
          if (spec.orchestrator === 'k8s' && spec.pod) this.enqueue(`pod:${ev.namespace}/${spec.pod}`);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.opts.log.warn({ err: (err as Error).message }, 'datastore watch failed; retrying');
      }
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  private async reconcile(qkey: string): Promise<void> {
    const colon = qkey.indexOf(':');
    const kind = qkey.slice(0, colon) as Kind;
    const key = qkey.slice(colon + 1);
    const obj = this.reflectors[kind].cache.get(key);
    const [ns, name] = key.includes('/') ? (key.split('/', 2) as [string, string]) : ['', key];
    switch (kind) {
      case 'namespace':
        return obj ? this.put(namespaceProfile(obj)) : this.remove('Profile', NAMESPACE_PROFILE_PREFIX + name);
      case 'serviceaccount':
        return obj ? this.put(serviceAccountProfile(obj)) : this.remove('Profile', `${SA_PROFILE_PREFIX}${ns}.${name}`);
      case 'networkpolicy':
        return obj ? this.put(networkPolicy(obj)) : this.remove('NetworkPolicy', KNP_PREFIX + name, ns);
      case 'node':
        return this.node(name, obj);
      case 'pod':
        return this.pod(ns, name, obj);
    }
  }

  private async current(kind: string, name: string, namespace?: string): Promise<ResourceObject | undefined> {
    try {
      return await this.opts.datastore.get(kind, name, namespace);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Writes `doc` unless the stored labels and spec already equal it (compare-and-set). */
  private async put(doc: Doc): Promise<void> {
    const cur = await this.current(doc.kind, doc.metadata.name, doc.metadata.namespace);
    // Compared as the datastore stores it (defaults such as a policy's tier filled in), so an
    // unchanged object is never rewritten.
    const want = validateResource(doc, { converted: true }) as unknown as Doc;
    if (cur && same(cur.spec, want.spec) && same(cur.metadata.labels ?? {}, doc.metadata.labels ?? {})) return;
    if (cur)
      await this.opts.datastore.update(
        { ...doc, metadata: { ...cur.metadata, ...doc.metadata } },
        Number(cur.metadata.resourceVersion),
      );
    else await this.opts.datastore.create(doc);
    this.stats.written++;
  }

  private async remove(kind: string, name: string, namespace?: string): Promise<void> {
    try {
      await this.opts.datastore.delete(kind, name, namespace ? { namespace } : {});
      this.stats.deleted++;
      this.opts.log.info({ kind, name, namespace }, 'deleted: its Kubernetes object is gone');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  private async node(name: string, obj: KubeObject | undefined): Promise<void> {
    const cur = await this.current('Node', name);
    if (!obj) {
      if (!cur || !ownedNode(cur)) return;
      await this.remove('Node', name);
      // Calico's node controller: a deleted node's blocks and affinities go back to the pools.
      const released = await this.opts.datastore.releaseBlocks(name);
      this.opts.log.info({ node: name, ...released }, 'released the IPAM blocks of a deleted node');
      return;
    }
    const f = nodeFields(obj);
    const curSpec = (cur?.spec ?? {}) as Record<string, unknown>;
    const spec: Record<string, unknown> = {
      ...curSpec,
      addresses: f.addresses,
      orchRefs: [{ nodeName: name, orchestrator: 'k8s' }],
    };
    if (f.bgp) spec.bgp = { ...((curSpec.bgp as object | undefined) ?? {}), ...f.bgp };
    if (spec.addresses && (spec.addresses as unknown[]).length === 0) delete spec.addresses;
    await this.put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name, labels: obj.metadata.labels ?? {} },
      spec,
    });
  }

  private async pod(ns: string, name: string, obj: KubeObject | undefined): Promise<void> {
    const ds = this.opts.datastore;
    const weps = (await ds.list('WorkloadEndpoint', { namespace: ns })).items.filter((w) => {
      const s = w.spec as { orchestrator?: string; pod?: string };
      return s.orchestrator === 'k8s' && s.pod === name;
    });
    for (const wep of weps) {
      const spec = wep.spec as { containerID?: string; profiles?: string[] };
      if (!obj) {
        // The pod is gone and CNI DEL did not clean up (node lost, runtime crashed): free its
        // addresses by the CNI plugin's handle, then drop the endpoint.
        if (spec.containerID) {
          const freed = await ds.releaseHandle(`${this.network}.${spec.containerID}`);
          if (freed.length)
            this.opts.log.info(
              { pod: `${ns}/${name}`, addresses: freed },
              'released the addresses of a pod that no longer exists',
            );
        }
        await this.remove('WorkloadEndpoint', wep.metadata.name, ns);
        continue;
      }
      const want = podEndpointFields(obj);
      if (same(wep.metadata.labels ?? {}, want.labels) && same(spec.profiles ?? [], want.profiles)) continue;
      await ds.update(
        { ...wep, metadata: { ...wep.metadata, labels: want.labels }, spec: { ...spec, profiles: want.profiles } },
        Number(wep.metadata.resourceVersion),
      );
      this.stats.written++;
    }
  }
}

function ownedNode(n: ResourceObject): boolean {
  return ((n.spec as { orchRefs?: { orchestrator?: string }[] } | undefined)?.orchRefs ?? []).some(
    (r) => r.orchestrator === 'k8s',
  );
}
